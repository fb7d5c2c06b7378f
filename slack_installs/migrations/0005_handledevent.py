# HandledEvent: the Events API deliveries handled in the last hour, so Slack's retries of an
# event_id are acknowledged without running it again. A new table: nothing else changes.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("slack_installs", "0004_oauthattempt_kind"),
    ]

    operations = [
        migrations.CreateModel(
            name="HandledEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("event_id", models.CharField(max_length=32, verbose_name="event id")),
                (
                    "handled_at",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, verbose_name="handled at"
                    ),
                ),
                (
                    "app",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="slack_installs.slackapp",
                    ),
                ),
            ],
            options={
                "verbose_name": "handled event",
                "verbose_name_plural": "handled events",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("app", "event_id"), name="slack_installs_one_handled_event_per_id"
                    )
                ],
            },
        ),
    ]
