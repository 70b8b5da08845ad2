from decimal import Decimal

from django import template

from studio.formats import decimals, major_units, money

register = template.Library()
register.filter("money", money)
register.filter("major_units", major_units)


@register.filter
def money_step(currency: str) -> str:
    """A number input's step for amounts in `currency`: its smallest unit, e.g. "0.01", "1"."""
    return str(Decimal(1).scaleb(-decimals(currency)))
