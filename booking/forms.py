from django import forms


class SlotChoiceForm(forms.Form):
    """A slot picked on the slots page; the start is an ISO 8601 time with its offset."""

    start = forms.DateTimeField(input_formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"])
    photographer = forms.IntegerField(required=False)


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
