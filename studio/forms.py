from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from .errors import Throttled
from .models import User


class SignUpForm(forms.Form):
    full_name = forms.CharField(max_length=150, label="Your name")
    email = forms.EmailField(label="E-mail")
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    time_zone = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                "An account with this e-mail exists already. Log in instead?"
            )
        return email

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password"):
            user = User(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(cleaned["password"], user)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class SaysWhenThrottled:
    """For a log-in form: a try the log-in throttle refuses says so, and how long to wait."""

    throttled: Throttled | None = None

    def clean(self):
        try:
            return super().clean()
        except Throttled as refusal:
            self.throttled = refusal
            raise forms.ValidationError(refusal.message, code=refusal.code) from None


class LoginForm(SaysWhenThrottled, AuthenticationForm):
    pass


class AdminLoginForm(SaysWhenThrottled, AdminAuthenticationForm):
    pass


def form_errors(form: forms.Form) -> str:
    """A form's problems in one line, for a page that redirects with a message."""
    return " ".join(
        f"{form.fields[name].label or name.replace('_', ' ').capitalize()}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    )
