# The overview at a million installations: InstallationEventCount, the events per app, week
# and kind rolled up as they happen (filled here from the events so far), and partial
# indexes from which the overview's counts and the due-token query read alone.
#
# The partial indexes are made per database, outside the model state: where the database
# has partial indexes (PostgreSQL, SQLite); MariaDB/MySQL has none, and a conditional index
# in Installation.Meta would make every `manage.py check` there warn (models.W037).

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone


ACTIVE = models.Q(revoked_at__isnull=True)
PARTIAL_INDEXES = [
    # The overview's counts per app: COUNT(*) answered from the index alone.
    models.Index(fields=["app"], condition=ACTIVE, name="slack_installs_active_idx"),
    models.Index(
        fields=["app"],
        condition=ACTIVE & models.Q(needs_reinstall_at__isnull=False),
        name="slack_installs_act_reinst_idx",
    ),
    models.Index(
        fields=["app"],
        condition=ACTIVE & models.Q(scopes_missing=True),
        name="slack_installs_act_scopes_idx",
    ),
    # Rotating bot tokens by expiry, with their app: tokens.due_bot_tokens() (the refresh,
    # the overview's tokens due per app), a range of this index whatever the table's size.
    models.Index(
        fields=["bot_token_expires_at", "app"],
        condition=ACTIVE
        & models.Q(
            needs_reinstall_at__isnull=True,
            bot_token__isnull=False,
            bot_refresh_token__isnull=False,
        ),
        name="slack_installs_due_idx",
    ),
]


def add_partial_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.features.supports_partial_indexes:
        model = apps.get_model("slack_installs", "Installation")
        for index in PARTIAL_INDEXES:
            schema_editor.add_index(model, index)


def remove_partial_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.features.supports_partial_indexes:
        model = apps.get_model("slack_installs", "Installation")
        for index in PARTIAL_INDEXES:
            schema_editor.remove_index(model, index)


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
        migrations.RunPython(
            add_partial_indexes, remove_partial_indexes, atomic=False, elidable=False
        ),
    ]
