from django import template

register = template.Library()


@register.filter
def money(amount_minor: int, currency: str) -> str:
    """Format integer minor units, e.g. 15000 EUR → "150.00 EUR"."""
    return f"{amount_minor // 100:,}.{amount_minor % 100:02d} {currency}"


@register.filter
def major_units(amount_minor: int) -> str:
    """Minor units as a form's number, e.g. 1250 → "12.50"."""
    return f"{amount_minor // 100}.{amount_minor % 100:02d}"
