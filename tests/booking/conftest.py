from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone


@pytest.fixture
def day(studio):
    """A studio-local day a few days ahead, inside every test photographer's hours."""
    return timezone.now().astimezone(studio.zone).date() + timedelta(days=4)


@pytest.fixture
def at(studio, day):
    """Return an aware datetime on `day` at a studio-local wall-clock time."""

    def at(hour: int, minute: int = 0, *, days: int = 0):
        return datetime.combine(day + timedelta(days=days), time(hour, minute), studio.zone)

    return at
