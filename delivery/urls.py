from django.urls import path

from . import apis, views

urlpatterns = [
    path("galleries/", views.gallery_list, name="gallery_list"),
    path("galleries/new/", views.gallery_create, name="gallery_create"),
    path("galleries/<int:pk>/", views.gallery_detail, name="gallery_detail"),
    path("galleries/<int:pk>/upload/", views.gallery_upload, name="gallery_upload"),
    path("galleries/<int:pk>/settings/", views.gallery_settings, name="gallery_settings"),
    path("galleries/<int:pk>/publish/", views.gallery_publish, name="gallery_publish"),
    path("galleries/<int:pk>/download.zip", views.gallery_zip, name="gallery_zip"),
    path("galleries/<int:pk>/extras/", views.extras_buy, name="gallery_extras"),
    path(
        "galleries/<int:pk>/photos/<int:photo_pk>/<slug:size>/",
        views.photo_file,
        name="photo_file",
    ),
    path("g/<str:token>/", views.gallery_link, name="gallery_link"),
]

api_urlpatterns = [
    path("galleries/", apis.GalleryListApi.as_view(), name="api_galleries"),
    path("galleries/unlock/", apis.GalleryUnlockApi.as_view(), name="api_gallery_unlock"),
    path("galleries/<int:pk>/", apis.GalleryDetailApi.as_view(), name="api_gallery"),
    path("galleries/<int:pk>/link/", apis.GalleryLinkApi.as_view(), name="api_gallery_link"),
    path(
        "galleries/<int:pk>/settings/", apis.GalleryUpdateApi.as_view(), name="api_gallery_update"
    ),
    path("galleries/<int:pk>/revoke/", apis.GalleryRevokeApi.as_view(), name="api_gallery_revoke"),
    path("galleries/<int:pk>/photos/", apis.PhotoUploadApi.as_view(), name="api_photo_upload"),
    path("galleries/<int:pk>/publish/", apis.PhotosPublishApi.as_view(), name="api_publish"),
    path("galleries/<int:pk>/unpublish/", apis.PhotosUnpublishApi.as_view(), name="api_unpublish"),
    path(
        "galleries/<int:pk>/photos/<int:photo_pk>/favourite/",
        apis.FavouriteApi.as_view(),
        name="api_photo_favourite",
    ),
    path(
        "galleries/<int:pk>/photos/<int:photo_pk>/selection/",
        apis.SelectionApi.as_view(),
        name="api_photo_selection",
    ),
    path("galleries/<int:pk>/extras/", apis.ExtrasBuyApi.as_view(), name="api_gallery_extras"),
    path(
        "galleries/<int:pk>/selection/submit/",
        apis.SelectionSubmitApi.as_view(),
        name="api_selection_submit",
    ),
]
