import django.db.models.deletion
import django.db.models.expressions
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ai_assist', '0001_initial'),
        ('delivery', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AiJob',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('culling', 'Culling')], max_length=20)),
                ('state', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('deciding', 'Deciding'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=20)),
                ('total', models.PositiveIntegerField()),
                ('done', models.PositiveIntegerField(default=0)),
                ('failed', models.PositiveIntegerField(default=0)),
                ('error', models.TextField(blank=True, help_text='Why the whole run failed (a model missing).')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('progressed_at', models.DateTimeField(default=django.utils.timezone.now, help_text="When it last moved on: the sweep's clock.")),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('gallery', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='ai_jobs', to='delivery.gallery')),
                ('started_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
                'constraints': [
                    models.CheckConstraint(condition=models.Q(('done__lte', django.db.models.expressions.CombinedExpression(models.F('total'), '-', models.F('failed')))), name='ai_job_progress_within_total'),
                    models.UniqueConstraint(condition=models.Q(('state__in', ['queued', 'running', 'deciding'])), fields=('gallery', 'kind'), name='one_live_ai_job_per_gallery_and_kind'),
                ],
            },
        ),
        migrations.CreateModel(
            name='AiJobItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('state', models.CharField(choices=[('queued', 'Waiting'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=20)),
                ('error', models.TextField(blank=True)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='ai_assist.aijob')),
                ('photo', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='delivery.photo')),
            ],
            options={
                'ordering': ['pk'],
                'constraints': [
                    models.UniqueConstraint(fields=('job', 'photo'), name='one_ai_job_item_per_photo'),
                ],
            },
        ),
        # Run backwards, 0004 gives the cullings their run back empty, for 0003 to fill.
        migrations.AlterField(
            model_name='photocull',
            name='job',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='photo_culls', to='ai_assist.culljob'),
        ),
        # Nullable until 0003 has given every existing culling its item.
        migrations.AddField(
            model_name='photocull',
            name='item',
            field=models.OneToOneField(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='cull', to='ai_assist.aijobitem'),
        ),
    ]
