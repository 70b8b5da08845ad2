"""Which time zone to show times in: the viewer's own, detected in the browser and changeable."""

import zoneinfo
from functools import cache

from .errors import DomainError


@cache
def zone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


def zone_from_name(name: str) -> zoneinfo.ZoneInfo:
    if name not in zone_names():
        raise DomainError("invalid_time_zone", name=name)
    return zoneinfo.ZoneInfo(name)


def viewer_zone(request, default: str) -> tuple[zoneinfo.ZoneInfo, bool]:
    """Return the zone to show `request`'s viewer, and whether the viewer chose or confirmed it.

    `?tz=` (sent by the page's script from the browser, or picked by the viewer) wins and is
    remembered in the session, and on the account when it has none yet (a GET must not be able
    to change what e-mails say); otherwise the remembered one; otherwise the studio's zone as a
    guess, which the page then replaces with the browser's.
    """
    from .services import user_set_time_zone

    asked = request.GET.get("tz")
    if asked and asked in zone_names():
        request.session["tz"] = asked
        if request.user.is_authenticated and not request.user.time_zone:
            user_set_time_zone(user=request.user, time_zone=asked)
        return zoneinfo.ZoneInfo(asked), True
    known = request.session.get("tz") or (
        request.user.time_zone if request.user.is_authenticated else ""
    )
    if known in zone_names():
        return zoneinfo.ZoneInfo(known), True
    return zoneinfo.ZoneInfo(default), False
