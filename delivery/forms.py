import uuid

from django import forms

from booking.forms import MoneyField, validate_calendar_day
from studio.formats import minor_units


class GalleryCreateForm(forms.Form):
    booking = forms.IntegerField(min_value=1)
    included_photos = forms.IntegerField(min_value=0, max_value=10_000, initial=10)
    pin = forms.CharField(required=False, max_length=12)


class GallerySettingsForm(forms.Form):
    included_photos = forms.IntegerField(min_value=0, max_value=10_000)
    expires_on = forms.DateField(required=False, validators=[validate_calendar_day])

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.fields["extra_photo_price"] = MoneyField(currency=currency, minimum=0, required=False)

    def extra_photo_price_minor(self) -> int:
        price = self.cleaned_data["extra_photo_price"]
        return minor_units(price, self.currency) if price is not None else 0


class ExtrasForm(forms.Form):
    photos = forms.IntegerField(min_value=1, max_value=1000)
    # One purchase per form shown: a double submit buys once.
    key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
