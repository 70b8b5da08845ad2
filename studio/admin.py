from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import AuditEvent, Studio, User


@admin.register(Studio)
class StudioAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "currency", "cancellation_cutoff_hours", "hold_minutes"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "studio", "is_active"]
    list_filter = ["role", "studio", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name", "role", "studio", "time_zone"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the log is written by `studio.audit` inside each change, and never edited."""

    list_display = ["at", "kind", "actor", "studio", "booking_id", "gallery_id", "photo_id"]
    list_filter = ["kind", "studio"]
    search_fields = ["actor__email", "actor__full_name"]
    date_hierarchy = "at"
    list_select_related = ["actor", "studio"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
