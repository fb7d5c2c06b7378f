# Installations that stay true: Installation.scopes_missing (computed here for existing
# installs) and checked_at, and WorkspaceAccess, the workspaces an org-wide install reaches.
# Additive: no existing column changes; reversing drops the new ones.

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import F, Q, Subquery, TextField, Value
from django.db.models.functions import Coalesce, Concat
from django.db.models.lookups import Contains


def flag_installs_missing_scopes(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Set scopes_missing on existing installs that lack a scope their app asks for.

    The rule of ``slack_installs.models._lacks_scopes``, written against this migration's
    models (a migration must not depend on today's code), one UPDATE per app.
    """
    SlackApp = apps.get_model("slack_installs", "SlackApp")
    Installation = apps.get_model("slack_installs", "Installation")
    UserToken = apps.get_model("slack_installs", "UserToken")
    alias = schema_editor.connection.alias

    def padded(expression: Any) -> Concat:
        return Concat(Value(","), expression, Value(","), output_field=TextField())

    installer_scopes = Subquery(
        UserToken.objects.using(alias)
        .filter(
            installation=models.OuterRef("pk"), slack_user_id=models.OuterRef("installer_user_id")
        )
        .values("scopes")[:1]
    )
    for app in SlackApp.objects.using(alias).only("pk", "bot_scopes", "user_scopes"):
        lacking = Q(pk__in=[])
        for scope in filter(None, app.bot_scopes.split(",")):
            lacking |= ~Q(Contains(padded(F("bot_scopes")), f",{scope},"))
        for scope in filter(None, app.user_scopes.split(",")):
            lacking |= ~Q(
                Contains(
                    padded(Coalesce(installer_scopes, Value(""), output_field=TextField())),
                    f",{scope},",
                )
            )
        Installation.objects.using(alias).filter(lacking, app=app).update(scopes_missing=True)


class Migration(migrations.Migration):
    dependencies = [
        ("slack_installs", "0007_pkce"),
    ]

    operations = [
        migrations.AddField(
            model_name="installation",
            name="scopes_missing",
            field=models.BooleanField(
                default=False,
                db_default=False,
                help_text="The app asks for scopes this install was not granted: install it again.",
                verbose_name="scopes missing",
            ),
        ),
        migrations.AddField(
            model_name="installation",
            name="checked_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When auth.test last said whether the bot token works.",
                null=True,
                verbose_name="checked with Slack at",
            ),
        ),
        migrations.AddIndex(
            model_name="installation",
            index=models.Index(fields=["scopes_missing", "app"], name="slack_installs_scopes_idx"),
        ),
        migrations.RunPython(flag_installs_missing_scopes, migrations.RunPython.noop),
        migrations.CreateModel(
            name="WorkspaceAccess",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("team_id", models.CharField(max_length=32, verbose_name="team id")),
                (
                    "granted_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="granted at"),
                ),
                (
                    "revoked_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="revoked at"),
                ),
                (
                    "installation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="workspace_access",
                        to="slack_installs.installation",
                    ),
                ),
            ],
            options={
                "verbose_name": "workspace access",
                "verbose_name_plural": "workspace access",
                "ordering": ["team_id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("team_id", "installation"),
                        name="slack_installs_one_access_per_team",
                    )
                ],
            },
        ),
    ]
