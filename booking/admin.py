from django.contrib import admin

from .models import AvailabilityException, Booking, SessionType, WeeklyHours


@admin.register(SessionType)
class SessionTypeAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "studio",
        "duration_minutes",
        "price_minor",
        "deposit_minor",
        "location",
        "is_active",
    ]
    list_filter = ["studio", "location", "is_active"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(WeeklyHours)
class WeeklyHoursAdmin(admin.ModelAdmin):
    list_display = ["photographer", "weekday", "start_time", "end_time"]
    list_filter = ["photographer", "weekday"]


@admin.register(AvailabilityException)
class AvailabilityExceptionAdmin(admin.ModelAdmin):
    list_display = ["photographer", "date", "kind", "start_time", "end_time", "note"]
    list_filter = ["photographer", "kind"]
    date_hierarchy = "date"


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    """Read-mostly: changes go through the services (pages and API) so the rules always hold."""

    list_display = ["pk", "start", "session_type", "client", "photographer", "status"]
    list_filter = ["status", "session_type__studio", "photographer"]
    search_fields = ["client__email", "client__full_name"]
    date_hierarchy = "start"
    readonly_fields = [f.name for f in Booking._meta.fields]

    def has_add_permission(self, request):
        return False
