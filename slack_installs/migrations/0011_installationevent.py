# InstallationEvent, the append-only history the admin's overview draws, and Overview, a
# proxy of Installation without a table or permissions: the overview's entry in the app list.
# Existing installations get their history so far: an "installed" event at installed_at (the
# latest install: earlier ones were overwritten) and, when revoked, a "revoked" one.

from __future__ import annotations

from typing import Any

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

BATCH = 5_000


def history_so_far(apps: Any, schema_editor: Any) -> None:
    using = schema_editor.connection.alias
    Installation = apps.get_model("slack_installs", "Installation")
    InstallationEvent = apps.get_model("slack_installs", "InstallationEvent")
    rows = (
        Installation.objects.using(using)
        .order_by("pk")
        .values_list("pk", "app_id", "installed_at", "revoked_at")
    )
    batch = []
    for pk, app_id, installed_at, revoked_at in rows.iterator(chunk_size=BATCH):
        batch.append(
            InstallationEvent(app_id=app_id, installation_id=pk, kind="installed", at=installed_at)
        )
        if revoked_at is not None:
            batch.append(
                InstallationEvent(app_id=app_id, installation_id=pk, kind="revoked", at=revoked_at)
            )
        if len(batch) >= BATCH:
            InstallationEvent.objects.using(using).bulk_create(batch)
            batch = []
    InstallationEvent.objects.using(using).bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("slack_installs", "0010_manifests"),
    ]

    operations = [
        migrations.CreateModel(
            name="Overview",
            fields=[],
            options={
                "verbose_name": "overview",
                "verbose_name_plural": "overview",
                "proxy": True,
                "default_permissions": (),
                "indexes": [],
                "constraints": [],
            },
            bases=("slack_installs.installation",),
        ),
        migrations.CreateModel(
            name="InstallationEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
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
                ("at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="at")),
                (
                    "app",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="installation_events",
                        to="slack_installs.slackapp",
                    ),
                ),
                (
                    "installation",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="events",
                        to="slack_installs.installation",
                    ),
                ),
            ],
            options={
                "verbose_name": "installation event",
                "verbose_name_plural": "installation events",
                "ordering": ["-at", "-pk"],
                "default_permissions": ("view",),
                "indexes": [models.Index(fields=["app", "at"], name="slack_installs_event_at_idx")],
            },
        ),
        migrations.RunPython(history_so_far, migrations.RunPython.noop, elidable=True),
    ]
