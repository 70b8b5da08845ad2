"""On PostgreSQL, let the database itself forbid double booking.

An exclusion constraint over (photographer, [blocked_start, blocked_end)) for held and confirmed
bookings: two such rows of one photographer whose ranges overlap cannot both exist, whatever
the application does. SQLite has no such constraint; there the services serialize bookings.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE booking_booking ADD CONSTRAINT booking_no_overlap_per_photographer
    EXCLUDE USING gist (
        photographer_id WITH =,
        tstzrange(blocked_start, blocked_end, '[)') WITH &&
    ) WHERE (status IN ('held', 'confirmed'));
"""
DROP = "ALTER TABLE booking_booking DROP CONSTRAINT booking_no_overlap_per_photographer;"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
