# The overview at a million installations: InstallationEventCount, the events per app, week
# and kind rolled up as they happen (filled here from the events so far), and partial
# indexes from which the overview's counts and the due-token query read alone.

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone


def counts_so_far(apps: Any, schema_editor: Any) -> None:
    """Count the events so far per app, week (its Monday in TIME_ZONE) and kind."""
    using = schema_editor.connection.alias
    InstallationEvent = apps.get_model("slack_installs", "InstallationEvent")
    InstallationEventCount = apps.get_model("slack_installs", "InstallationEventCount")
    zone = timezone.get_default_timezone()
    counts: Counter[tuple[int, datetime.date, str]] = Counter()
    events = InstallationEvent.objects.using(using).values_list("app_id", "at", "kind")
    for app_id, at, kind in events.iterator(chunk_size=5_000):
        day = timezone.localtime(at, zone).date() if timezone.is_aware(at) else at.date()
        counts[(app_id, day - datetime.timedelta(days=day.weekday()), kind)] += 1
    InstallationEventCount.objects.using(using).bulk_create(
        [
            InstallationEventCount(app_id=app_id, week=week, kind=kind, count=count)
            for (app_id, week, kind), count in counts.items()
        ],
        batch_size=1_000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("slack_installs", "0012_installation_admin_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="InstallationEventCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "week",
                    models.DateField(
                        help_text="Its Monday, in the site's time zone.", verbose_name="week"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("installed", "installed"),
                            ("reinstalled", "re-installed"),
                            ("uninstalled", "uninstalled"),
                            ("revoked", "revoked"),
                        ],
                        max_length=16,
                        verbose_name="kind",
                    ),
                ),
                ("count", models.PositiveIntegerField(default=0, verbose_name="count")),
            ],
            options={
                "verbose_name": "installation events per week",
                "verbose_name_plural": "installation events per week",
            },
        ),
        migrations.AddIndex(
            model_name="installation",
            index=models.Index(
                condition=models.Q(("revoked_at__isnull", True)),
                fields=["app"],
                name="slack_installs_active_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="installation",
            index=models.Index(
                condition=models.Q(
                    ("needs_reinstall_at__isnull", False), ("revoked_at__isnull", True)
                ),
                fields=["app"],
                name="slack_installs_act_reinst_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="installation",
            index=models.Index(
                condition=models.Q(("revoked_at__isnull", True), ("scopes_missing", True)),
                fields=["app"],
                name="slack_installs_act_scopes_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="installation",
            index=models.Index(
                condition=models.Q(
                    ("bot_refresh_token__isnull", False),
                    ("bot_token__isnull", False),
                    ("needs_reinstall_at__isnull", True),
                    ("revoked_at__isnull", True),
                ),
                fields=["bot_token_expires_at", "app"],
                name="slack_installs_due_idx",
            ),
        ),
        migrations.AddField(
            model_name="installationeventcount",
            name="app",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="slack_installs.slackapp",
            ),
        ),
        migrations.AddConstraint(
            model_name="installationeventcount",
            constraint=models.UniqueConstraint(
                fields=("app", "week", "kind"), name="slack_installs_one_count_per_week"
            ),
        ),
        migrations.AddIndex(
            model_name="installationevent",
            index=models.Index(fields=["-at", "-id"], name="slack_installs_event_new_idx"),
        ),
        migrations.RunPython(counts_so_far, migrations.RunPython.noop, elidable=True),
    ]
