from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from . import outbox
from .forms import AdminLoginForm
from .models import AuditEvent, OutboundEmail, Studio, User

# The admin's log-in is throttled like every other (studio.backends): say so rather than fail.
admin.site.login_form = AdminLoginForm


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows only the platform writes: the admin shows them, and changes nothing."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the log is written by `studio.audit` inside each change, and never edited."""

    list_display = ["at", "kind", "actor", "studio", "booking_id", "gallery_id", "photo_id"]
    list_filter = ["kind", "studio"]
    search_fields = ["actor__email", "actor__full_name"]
    date_hierarchy = "at"
    list_select_related = ["actor", "studio"]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    """Read-only but for one action: a person decides whether a failed e-mail goes out again
    (one left mid-send may already have reached the client)."""

    list_display = ["created_at", "kind", "recipient", "state", "attempts", "sent_at"]
    list_filter = ["state", "kind"]
    search_fields = ["recipient", "dedupe_key"]
    date_hierarchy = "created_at"
    actions = ["send_again"]

    @admin.action(description="Send the selected failed e-mails again")
    def send_again(self, request, queryset):
        again = outbox.emails_send_again(email_pks=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{again} e-mails queued to be sent again.")
