from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from .forms import LoginForm, SignUpForm
from .services import user_sign_up
from .timezones import zone_names


def sign_up(request):
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = user_sign_up(
            email=data["email"],
            password=data["password"],
            full_name=data["full_name"],
            time_zone=data["time_zone"] if data["time_zone"] in zone_names() else "",
        )
        login(request, user, backend="studio.backends.ThrottledModelBackend")
        next_url = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
            return redirect(next_url)
        return redirect("home")
    return render(
        request, "registration/signup.html", {"form": form, "next": request.GET.get("next", "")}
    )


class LoginView(auth_views.LoginView):
    """Django's log-in page; a throttled try answers 429 with the form saying how long to wait."""

    authentication_form = LoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = form.throttled.status
            response["Retry-After"] = str(form.throttled.seconds)
        return response
