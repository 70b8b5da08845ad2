"""Photos are drafts until the photographer publishes them.

Before this, every approved photo was shown to the client at once: those stay published (from
their upload on), and their galleries count as published already, so that the next publish does
not tell the client again that the gallery is ready.
"""

from django.db import migrations, models
from django.db.models import F, Min


def forwards(apps, schema_editor):
    Photo = apps.get_model("delivery", "Photo")
    Gallery = apps.get_model("delivery", "Gallery")
    shown = Photo.objects.filter(approval="approved", published_at__isnull=True)
    firsts = shown.values("gallery").annotate(first=Min("created_at"))
    for row in firsts:
        Gallery.objects.filter(pk=row["gallery"], first_published_at__isnull=True).update(
            first_published_at=row["first"]
        )
    shown.update(published_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0005_delete_pinattempt"),
    ]

    operations = [
        migrations.AddField(
            model_name="gallery",
            name="first_published_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When photos were first published (the client was told).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="photo",
            name="published_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="photo",
            name="unpublished_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        # Backwards, the columns go and every approved photo is shown again, as before.
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
