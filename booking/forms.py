import uuid
from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from studio.formats import decimals, minor_units

# Calendar pages and API queries stay well inside what datetime arithmetic can represent.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 1, 1)


def validate_calendar_day(day: date) -> None:
    if not FIRST_DAY <= day < LAST_DAY:
        raise ValidationError(f"Choose a day between {FIRST_DAY} and {LAST_DAY}.")


class DayForm(forms.Form):
    date = forms.DateField(validators=[validate_calendar_day])


class SlotChoiceForm(forms.Form):
    """A slot picked on the slots page; the start is an ISO 8601 time with its offset."""

    start = forms.DateTimeField(input_formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"])
    photographer = forms.IntegerField(required=False)

    def clean_start(self):
        start = self.cleaned_data["start"]
        validate_calendar_day(start.date())
        return start


class BookingDetailsForm(forms.Form):
    location_address = forms.CharField(
        label="Address of the location", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    notes = forms.CharField(
        label="Anything the photographer should know?",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class MoneyField(forms.DecimalField):
    """An amount typed in major units of `currency`, with at most its decimals (e.g. 20.00 EUR,
    2000 JPY, 2.500 KWD); `minor_units` of the form's value gives the integer minor units."""

    def __init__(self, *, currency: str, minimum: int = 1, **kwargs):
        places = decimals(currency)
        super().__init__(
            min_value=Decimal(minimum).scaleb(-places),
            max_digits=10,
            decimal_places=places,
            **kwargs,
        )


class RefundForm(forms.Form):
    """A refund the studio's staff give from the booking page, in major units (e.g. 20.00)."""

    reason = forms.CharField(max_length=200)
    # Submitting the same form twice (a double click, a reload) refunds once.
    request_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.fields["amount"] = MoneyField(currency=currency)
        self.order_fields(["amount", "reason", "request_key"])

    def amount_minor(self) -> int:
        return minor_units(self.cleaned_data["amount"], self.currency)
