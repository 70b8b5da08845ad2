"""How money and moments read to people: the one formatter each, for pages, e-mails and history."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import dateformat

from .currencies import EXPONENTS


def decimals(currency: str) -> int:
    """The currency's ISO 4217 exponent; 2 for a code we do not know (an older record's)."""
    return EXPONENTS.get(currency.upper(), 2)


def _number(amount_minor: int, currency: str, grouping: str) -> str:
    places = decimals(currency)
    major, minor = divmod(abs(amount_minor), 10**places)
    number = f"{major:{grouping}}" + (f".{minor:0{places}d}" if places else "")
    return f"-{number}" if amount_minor < 0 else number


def major_units(amount_minor: int, currency: str) -> str:
    """Minor units as a number a form shows, e.g. 1250 EUR → "12.50", 1250 JPY → "1250"."""
    return _number(amount_minor, currency, "")


def minor_units(amount: Decimal, currency: str) -> int:
    """A number typed in major units as integer minor units, e.g. 12.50 EUR → 1250, 12.5 KWD →
    12500; it must have no more decimals than the currency has (a form's DecimalField checks)."""
    minor = amount.scaleb(decimals(currency))
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} has")
    return int(minor)


def money(amount_minor: int, currency: str) -> str:
    """Format integer minor units by the currency's decimals, e.g. 15000 EUR → "150.00 EUR",
    15000 JPY → "15,000 JPY", 15000 KWD → "15.000 KWD"."""
    return f"{_number(amount_minor, currency, ',')} {currency}"


def moment(at: datetime, zone: ZoneInfo) -> str:
    """A time and day in `zone`, e.g. "14:00 on 3 Dec"."""
    return dateformat.format(at.astimezone(zone), r"H:i \o\n j M")
