# Org-wide installs: the org's Slack URL (from auth.test) and slack_sdk's custom_values.
# Additive: existing rows get "" and {}.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("slack_installs", "0002_admin"),
    ]

    operations = [
        migrations.AddField(
            model_name="installation",
            name="enterprise_url",
            field=models.URLField(
                blank=True,
                default="",
                help_text="The org's Slack URL, from auth.test, for an org-wide install.",
                verbose_name="enterprise URL",
            ),
        ),
        migrations.AddField(
            model_name="installation",
            name="custom_values",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Extra values an app keeps per installation (slack_sdk's custom_values).",
                verbose_name="custom values",
            ),
        ),
    ]
