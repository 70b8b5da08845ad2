from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from .forms import SignUpForm
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
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        next_url = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
            return redirect(next_url)
        return redirect("home")
    return render(
        request, "registration/signup.html", {"form": form, "next": request.GET.get("next", "")}
    )
