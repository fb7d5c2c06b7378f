# App manifests: ConfigurationToken, SlackApp's manifest settings and its configuration
# token, and a client id that stays NULL until the app exists on Slack.
# Additive but for client_id: a blank one (at most one app could have it) becomes NULL.

from typing import Any

import django
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import slack_installs.fields
import slack_installs.models


def blank_client_ids_to_null(apps: Any, schema_editor: Any) -> None:
    SlackApp = apps.get_model("slack_installs", "SlackApp")
    SlackApp.objects.using(schema_editor.connection.alias).filter(client_id="").update(
        client_id=None
    )


class Migration(migrations.Migration):
    dependencies = [
        ("slack_installs", "0009_sign_in"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConfigurationToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "team_id",
                    models.CharField(
                        help_text=(
                            "The workspace the token was made in (T…), as Slack's “Your apps” "
                            "page says."
                        ),
                        max_length=32,
                        unique=True,
                        verbose_name="workspace id",
                    ),
                ),
                (
                    "access_token",
                    slack_installs.fields.EncryptedTextField(
                        blank=True, null=True, verbose_name="configuration token"
                    ),
                ),
                (
                    "refresh_token",
                    slack_installs.fields.EncryptedTextField(
                        blank=True, null=True, verbose_name="refresh token"
                    ),
                ),
                (
                    "expires_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="Blank: unknown, so the token is rotated before its first use.",
                        null=True,
                        verbose_name="expires at",
                    ),
                ),
                (
                    "rotated_at",
                    models.DateTimeField(
                        blank=True, editable=False, null=True, verbose_name="rotated at"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="created at"
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
            ],
            options={
                "verbose_name": "app configuration token",
                "verbose_name_plural": "app configuration tokens",
                "ordering": ["team_id"],
            },
        ),
        migrations.AddField(
            model_name="slackapp",
            name="manifest_extra",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text=(
                    "A JSON object merged into the generated manifest last: slash commands, "
                    "shortcuts, interactivity, anything not set above."
                ),
                validators=[slack_installs.models.validate_json_object],
                verbose_name="more of the manifest",
            ),
        ),
        migrations.AddField(
            model_name="slackapp",
            name="org_deploy_enabled",
            field=models.BooleanField(
                default=False,
                help_text="Org-wide installs in Enterprise Grid orgs, with team access events.",
                verbose_name="org-ready (Enterprise Grid)",
            ),
        ),
        migrations.AddField(
            model_name="slackapp",
            name="token_rotation_enabled",
            field=models.BooleanField(
                default=False,
                help_text="Slack hands out tokens that expire after 12 hours, renewed here.",
                verbose_name="token rotation",
            ),
        ),
        migrations.AlterField(
            model_name="slackapp",
            name="client_id",
            field=models.CharField(
                blank=True, max_length=64, null=True, unique=True, verbose_name="client id"
            ),
        ),
        migrations.RunPython(blank_client_ids_to_null, migrations.RunPython.noop),
        migrations.AddField(
            model_name="slackapp",
            name="configuration_token",
            field=models.ForeignKey(
                blank=True,
                help_text="Creates and updates this app on Slack. Blank: the only one stored.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="apps",
                to="slack_installs.configurationtoken",
                verbose_name="configuration token",
            ),
        ),
        migrations.AddConstraint(
            model_name="slackapp",
            constraint=models.CheckConstraint(
                condition=~models.Q(client_id=""), name="slack_installs_client_id_not_blank"
            ),
        ),
    ]
