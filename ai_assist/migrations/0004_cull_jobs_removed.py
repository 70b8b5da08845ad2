import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ai_assist', '0003_culls_onto_ai_jobs'),
    ]

    operations = [
        migrations.AlterField(
            model_name='photocull',
            name='item',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='cull', to='ai_assist.aijobitem'),
        ),
        migrations.RemoveField(
            model_name='photocull',
            name='job',
        ),
        migrations.RemoveField(
            model_name='photocull',
            name='error',
        ),
        migrations.RemoveField(
            model_name='photocull',
            name='status',
        ),
        migrations.DeleteModel(
            name='CullJob',
        ),
    ]
