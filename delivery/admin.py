from django.contrib import admin

from .models import Favourite, Gallery, Photo, SelectionItem


@admin.register(Gallery)
class GalleryAdmin(admin.ModelAdmin):
    list_display = ["title", "booking", "expires_at", "revoked_at", "created_at"]
    exclude = ["link_token_hash", "pin_hash"]
    raw_id_fields = ["booking", "created_by"]


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["original_name", "gallery", "kind", "source", "approval", "rendition_status"]
    list_filter = ["kind", "source", "approval", "rendition_status"]
    raw_id_fields = ["gallery", "derived_from", "uploaded_by"]


admin.site.register([Favourite, SelectionItem])
