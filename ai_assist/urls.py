from django.urls import path

from . import apis, views

urlpatterns = [
    path("galleries/<int:pk>/cull/", views.cull_page, name="cull"),
    path(
        "galleries/<int:pk>/cull/<int:cull_pk>/override/",
        views.cull_override,
        name="cull_override",
    ),
    path("galleries/<int:pk>/cull/accept-rest/", views.cull_accept_rest, name="cull_accept_rest"),
    path(
        "galleries/<int:pk>/cull/publish-keepers/",
        views.cull_publish_keepers,
        name="cull_publish_keepers",
    ),
]

api_urlpatterns = [
    path("ai-jobs/<int:pk>/", apis.AiJobApi.as_view(), name="api_ai_job"),
    path("galleries/<int:pk>/cull/", apis.CullApi.as_view(), name="api_cull"),
    path(
        "galleries/<int:pk>/cull/<int:cull_pk>/override/",
        apis.CullOverrideApi.as_view(),
        name="api_cull_override",
    ),
    path(
        "galleries/<int:pk>/cull/accept-rest/",
        apis.CullAcceptRestApi.as_view(),
        name="api_cull_accept_rest",
    ),
    path(
        "galleries/<int:pk>/cull/publish-keepers/",
        apis.CullPublishKeepersApi.as_view(),
        name="api_cull_publish_keepers",
    ),
]
