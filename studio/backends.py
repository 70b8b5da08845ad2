"""Password log-ins, throttled: the log-in page, the admin's and the API's Basic auth all ask
`django.contrib.auth.authenticate`, so this one backend throttles them all."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from .throttles import Limit, address_key, client_ip, throttle_give_back, throttle_take


def login_limits(*, username: str, ip: str | None) -> list[Limit]:
    """Per address strictly; per account only against addresses that failed on it, so that an
    attacker elsewhere does not lock its owner out, up to a ceiling that binds every address."""
    account_window = settings.LOGIN_ACCOUNT_WINDOW_SECONDS
    account = f"login:account:{username.strip().casefold()}"
    limits = [Limit(account, settings.LOGIN_CEILING_PER_ACCOUNT, account_window)]
    if ip:
        address = address_key(ip)
        limits += [
            Limit(
                f"login:ip:{address}", settings.LOGIN_TRIES_PER_IP, settings.LOGIN_IP_WINDOW_SECONDS
            ),
            Limit(
                account,
                settings.LOGIN_TRIES_PER_ACCOUNT,
                account_window,
                after=f"{account}:{address}",
            ),
        ]
    return limits


class ThrottledModelBackend(ModelBackend):
    """Django's e-mail and password check; a wrong password counts against the throttle, and
    a throttled try is refused with `too_many_logins` before the password is looked at."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        ip = client_ip(request) if request is not None else None
        attempt = throttle_take(
            limits=login_limits(username=username, ip=ip), code="too_many_logins"
        )
        user = super().authenticate(request, username=username, password=password)
        if user is not None:
            throttle_give_back(attempt)
        return user
