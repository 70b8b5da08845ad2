"""Refunds get a status (a refund the provider refuses for good is failed, with its error);
payments can be cancelled; the installation gets the random key that prefixes its idempotency
keys at Stripe. Refunds already sent are marked sent."""

import secrets

from django.db import migrations, models


def mark_sent_and_make_installation(apps, schema_editor):
    Refund = apps.get_model("booking", "Refund")
    Refund.objects.exclude(provider_refund_id="").update(status="sent")
    apps.get_model("booking", "Installation").objects.get_or_create(
        pk=1, defaults={"key": secrets.token_hex(8)}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0006_booking_events_to_audit_log"),
    ]

    operations = [
        migrations.CreateModel(
            name="Installation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=32)),
            ],
        ),
        migrations.AddField(
            model_name="refund",
            name="error",
            field=models.TextField(blank=True, help_text="Why the provider refused it."),
        ),
        migrations.AddField(
            model_name="refund",
            name="status",
            field=models.CharField(
                choices=[("sending", "Being sent"), ("sent", "Sent"), ("failed", "Failed")],
                default="sending",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="payment",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Waiting for payment"),
                    ("succeeded", "Paid"),
                    ("cancelled", "Cancelled"),
                ],
                default="pending",
                max_length=20,
            ),
        ),
        migrations.AddIndex(
            model_name="refund",
            index=models.Index(
                fields=["status", "created_at"], name="booking_ref_status_316e4e_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="refund",
            constraint=models.UniqueConstraint(
                condition=models.Q(("provider_refund_id", ""), _negated=True),
                fields=("provider_refund_id",),
                name="refund_once_per_provider_id",
            ),
        ),
        migrations.RunPython(mark_sent_and_make_installation, migrations.RunPython.noop),
    ]
