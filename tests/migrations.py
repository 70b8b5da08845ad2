"""Migration tests' shared steps: migrate the test database, and make rows as old code did."""

from datetime import UTC, datetime

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

START = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)


def migrate(targets=None, **apps_at):
    """Migrate to `targets` (None: the latest of every app, except the apps named in `apps_at`,
    e.g. `ai_assist="0001_initial"`); return the models as they were then."""
    executor = MigrationExecutor(connection)
    if targets is None:
        latest = executor.loader.graph.leaf_nodes()
        targets = [node for node in latest if node[0] not in apps_at] + list(apps_at.items())
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def old_booking(apps, *, email: str = "c@example.com", deposit_minor: int = 5000):
    """A studio, one person who is both client and photographer, and their booking at START,
    made with the historical models `apps`."""
    studio = apps.get_model("studio", "Studio").objects.create(name="S", slug="s")
    person = apps.get_model("studio", "User").objects.create(email=email)
    session_type = apps.get_model("booking", "SessionType").objects.create(
        studio=studio, name="Headshot", slug="h", duration_minutes=30, price_minor=15000
    )
    return apps.get_model("booking", "Booking").objects.create(
        session_type=session_type,
        photographer=person,
        client=person,
        start=START,
        end=START.replace(minute=30),
        blocked_start=START,
        blocked_end=START.replace(minute=30),
        price_minor=15000,
        deposit_minor=deposit_minor,
        currency="EUR",
    )
