import uuid
from decimal import Decimal

from django import forms

from booking.forms import validate_calendar_day


class GalleryCreateForm(forms.Form):
    booking = forms.IntegerField(min_value=1)
    included_photos = forms.IntegerField(min_value=0, max_value=10_000, initial=10)
    pin = forms.CharField(required=False, max_length=12)


class GallerySettingsForm(forms.Form):
    included_photos = forms.IntegerField(min_value=0, max_value=10_000)
    expires_on = forms.DateField(required=False, validators=[validate_calendar_day])
    extra_photo_price = forms.DecimalField(
        required=False, min_value=Decimal(0), max_digits=9, decimal_places=2
    )

    def extra_photo_price_minor(self) -> int:
        return int((self.cleaned_data["extra_photo_price"] or 0) * 100)


class ExtrasForm(forms.Form):
    photos = forms.IntegerField(min_value=1, max_value=1000)
    # One purchase per form shown: a double submit buys once.
    key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
