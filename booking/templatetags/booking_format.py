from django import template

from studio.formats import money

register = template.Library()
register.filter("money", money)


@register.filter
def major_units(amount_minor: int) -> str:
    """Minor units as a form's number, e.g. 1250 → "12.50"."""
    return f"{amount_minor // 100}.{amount_minor % 100:02d}"
