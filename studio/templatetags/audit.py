from django import template

register = template.Library()


@register.filter
def sentence(event, zone) -> str:
    """An audit event in words, with its times in `zone`: `{{ event|sentence:zone }}`."""
    return event.sentence(zone)
