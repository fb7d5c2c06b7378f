# Sign in with Slack: SlackApp.sign_in_enabled and sign_in_team_ids, the nonce digest of a
# sign-in attempt, and SlackIdentity. Additive: existing apps keep sign-in off.

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("slack_installs", "0008_installations_stay_true"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="oauthattempt",
            name="nonce_digest",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="slackapp",
            name="sign_in_enabled",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Let people sign in to this site with their Slack account through this app "
                    "(OpenID Connect). Add the sign-in redirect URL shown above to the app's "
                    "Redirect URLs on Slack first."
                ),
                verbose_name="Sign in with Slack",
            ),
        ),
        migrations.AddField(
            model_name="slackapp",
            name="sign_in_team_ids",
            field=models.CharField(
                blank=True,
                help_text=(
                    "Comma-separated workspace ids (T…), no spaces. Blank: a member of any Slack "
                    "workspace can sign in, and gets an account when new accounts are made."
                ),
                max_length=2000,
                validators=[
                    django.core.validators.RegexValidator(
                        "^(T[A-Z0-9]{2,31}(,T[A-Z0-9]{2,31})*)?$",
                        "Comma-separated Slack workspace ids, e.g. 'T0123ABCD,T0456EFGH' "
                        "(no spaces).",
                    )
                ],
                verbose_name="workspaces allowed to sign in",
            ),
        ),
        migrations.CreateModel(
            name="SlackIdentity",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("team_id", models.CharField(max_length=32, verbose_name="team id")),
                ("slack_user_id", models.CharField(max_length=32, verbose_name="Slack user id")),
                (
                    "email",
                    models.CharField(blank=True, max_length=254, verbose_name="email on Slack"),
                ),
                (
                    "name",
                    models.CharField(blank=True, max_length=200, verbose_name="name on Slack"),
                ),
                ("picture", models.URLField(blank=True, max_length=500, verbose_name="picture")),
                (
                    "team_name",
                    models.CharField(blank=True, max_length=200, verbose_name="team name"),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="created at"
                    ),
                ),
                (
                    "last_sign_in_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="last sign-in"
                    ),
                ),
                (
                    "app",
                    models.ForeignKey(
                        blank=True,
                        help_text="The app of the latest sign-in.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="identities",
                        to="slack_installs.slackapp",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="slack_identities",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "Slack identity",
                "verbose_name_plural": "Slack identities",
                "ordering": ["-last_sign_in_at", "-pk"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("team_id", "slack_user_id"),
                        name="slack_installs_one_identity_per_slack_user",
                    )
                ],
            },
        ),
    ]
