from django.contrib import admin

from .models import Favourite, Gallery, Photo, SelectionItem


@admin.register(Gallery)
class GalleryAdmin(admin.ModelAdmin):
    """Read-only: changes go through the services (pages and API), which audit them."""

    list_display = ["title", "booking", "expires_at", "revoked_at", "created_at"]
    exclude = ["link_token_hash", "pin_hash"]
    readonly_fields = [
        f.name for f in Gallery._meta.fields if f.name not in ("link_token_hash", "pin_hash")
    ]

    def has_add_permission(self, request):
        return False


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["original_name", "gallery", "kind", "source", "approval", "rendition_status"]
    list_filter = ["kind", "source", "approval", "rendition_status"]
    raw_id_fields = ["gallery", "derived_from", "uploaded_by"]


admin.site.register([Favourite, SelectionItem])
