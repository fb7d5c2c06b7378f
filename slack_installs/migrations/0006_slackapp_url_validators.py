# SlackApp.success_url and error_url get their validator (validate_redirect_target).
# No schema change: rows saved before keep their value; the callback treats an invalid
# one as unset (models.safe_redirect_target).
# Numbered 0006 to stay clear of another branch's 0005: the dependency is set when merging.

import slack_installs.models
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("slack_installs", "0005_handledevent"),
    ]

    operations = [
        migrations.AlterField(
            model_name="slackapp",
            name="error_url",
            field=models.CharField(
                blank=True,
                max_length=500,
                validators=[slack_installs.models.validate_redirect_target],
                verbose_name="error URL",
            ),
        ),
        migrations.AlterField(
            model_name="slackapp",
            name="success_url",
            field=models.CharField(
                blank=True,
                max_length=500,
                validators=[slack_installs.models.validate_redirect_target],
                verbose_name="success URL",
            ),
        ),
    ]
