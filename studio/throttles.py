"""Throttles: tries counted per key (an address, an account, a gallery link) over a window.

A try is checked and counted in one transaction while the stripes of its keys are locked, so that
concurrent tries on one key are counted one after the other, across processes and machines (on
SQLite every write transaction is serialized anyway). A try is counted before the work it guards
(a password or PIN check), so tries still in progress count too; one that turned out fine is
given back. Used by wrong PINs (`delivery`), log-ins (`studio.backends`) and holds (`booking`).
"""

import hashlib
import ipaddress
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .errors import Throttled
from .models import Attempt, ThrottleStripe

STRIPES = 1024


@dataclass(frozen=True)
class Limit:
    """At most `most` tries on `key` within `seconds` (limits on one key share its window).

    With `after`, the limit binds only tries whose `after` key already has tries in the window,
    e.g. a link's budget only for addresses that failed on it: a stranger cannot spend it for them.
    """

    key: str
    most: int
    seconds: int
    after: str | None = None


def client_ip(request) -> str:
    # Behind a proxy, have it set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips) rather than
    # trusting X-Forwarded-For from anyone.
    return request.META.get("REMOTE_ADDR") or "0.0.0.0"


def address_key(ip: str) -> str:
    """The address as one party: an IPv6 address by its /64, which one subscriber gets whole."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _windows(limits: Sequence[Limit]) -> dict[str, int]:
    """Every key a try is counted on (`after` keys too), as digests, with its window."""
    windows = {}
    for limit in limits:
        windows[_digest(limit.key)] = limit.seconds
        if limit.after:
            windows.setdefault(_digest(limit.after), limit.seconds)
    return windows


def _lock(digests) -> None:
    # In one order, so that two tries sharing stripes never wait for each other in a circle.
    stripes = sorted({int(digest[:8], 16) % STRIPES for digest in digests})
    ThrottleStripe.objects.bulk_create(
        [ThrottleStripe(id=stripe) for stripe in stripes], ignore_conflicts=True
    )
    list(ThrottleStripe.objects.select_for_update().filter(id__in=stripes).order_by("id"))


def _live(digests, now: datetime) -> dict[str, list[datetime]]:
    """When each key's tries still in the window drop out of it, soonest first."""
    live = defaultdict(list)
    tries = Attempt.objects.filter(key__in=digests, until__gt=now).order_by("until")
    for key, until in tries.values_list("key", "until"):
        live[key].append(until)
    return live


def _wait(limit: Limit, live: dict[str, list[datetime]], now: datetime) -> int:
    """Seconds until `limit` takes another try; 0 when it takes one now."""
    if limit.after and not live[_digest(limit.after)]:
        return 0
    untils = live[_digest(limit.key)]
    if len(untils) < limit.most:
        return 0
    if limit.most <= 0:
        return limit.seconds
    # Fewer than `most` are left once this many of the soonest have dropped out.
    lifts_at = untils[len(untils) - limit.most]
    return max(1, math.ceil((lifts_at - now).total_seconds()))


def throttle_take(*, limits: Sequence[Limit], code: str, now: datetime | None = None) -> list[int]:
    """Count one try on every limit's key, or on none and raise `Throttled(code)` when a limit
    is spent. Return the try's rows, for `throttle_give_back`.

    Inside a caller's transaction (a hold), the stripes stay locked and the try is counted only
    if that transaction commits.
    """
    windows = _windows(limits)
    with transaction.atomic():
        _lock(windows)
        # Read after the lock: a try counted while this one waited is then in its past.
        now = now or timezone.now()
        live = _live(windows, now)
        if wait := max(_wait(limit, live, now) for limit in limits):
            raise Throttled(code, seconds=wait)
        taken = Attempt.objects.bulk_create(
            Attempt(key=key, until=now + timedelta(seconds=seconds))
            for key, seconds in windows.items()
        )
    return [attempt.pk for attempt in taken]


def throttle_give_back(attempt_ids: Sequence[int]) -> None:
    """Stop counting a try that turned out fine (the right PIN or password)."""
    Attempt.objects.filter(pk__in=attempt_ids).delete()


def throttle_forget_expired(*, now: datetime | None = None) -> int:
    """Delete the tries that no window counts any more; return how many."""
    deleted, _ = Attempt.objects.filter(until__lte=now or timezone.now()).delete()
    return deleted
