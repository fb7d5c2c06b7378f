# OAuthAttempt.kind: which flow issued the state (install, or Sign in with Slack).
# Additive: existing rows are installs.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("slack_installs", "0003_installation_enterprise_url_custom_values"),
    ]

    operations = [
        migrations.AddField(
            model_name="oauthattempt",
            name="kind",
            field=models.CharField(
                choices=[("install", "install"), ("sign_in", "sign in")],
                default="install",
                max_length=16,
                verbose_name="kind",
            ),
        ),
    ]
