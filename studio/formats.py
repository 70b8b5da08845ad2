"""How money and moments read to people: the one formatter each, for pages, e-mails and history."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import dateformat


def money(amount_minor: int, currency: str) -> str:
    """Format integer minor units, e.g. 15000 EUR → "150.00 EUR"."""
    return f"{amount_minor // 100:,}.{amount_minor % 100:02d} {currency}"


def moment(at: datetime, zone: ZoneInfo) -> str:
    """A time and day in `zone`, e.g. "14:00 on 3 Dec"."""
    return dateformat.format(at.astimezone(zone), r"H:i \o\n j M")
