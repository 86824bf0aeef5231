from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("steps", "0004_step_variables_and_evidence"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="customerstep",
            index=models.Index(fields=["release", "updated_at"], name="customerstep_release_upd_idx"),
        ),
    ]
