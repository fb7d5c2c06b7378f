# Export permissions for the admin (issue 4): a grantable "Can export ..." per model.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("slack_installs", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="installation",
            options={
                "ordering": ["-installed_at", "-pk"],
                "permissions": [("export_installation", "Can export installations")],
                "verbose_name": "installation",
                "verbose_name_plural": "installations",
            },
        ),
        migrations.AlterModelOptions(
            name="oauthattempt",
            options={
                "ordering": ["-created_at", "-pk"],
                "permissions": [("export_oauthattempt", "Can export Slack OAuth requests")],
                "verbose_name": "Slack OAuth request",
                "verbose_name_plural": "Slack OAuth requests",
            },
        ),
    ]
