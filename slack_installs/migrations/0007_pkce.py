# PKCE, opt-in per app: SlackApp.use_pkce, and the encrypted verifier of a pending attempt.
# Additive: existing apps keep PKCE off; existing attempts have no verifier.

from django.db import migrations, models

import slack_installs.fields


class Migration(migrations.Migration):
    dependencies = [
        ("slack_installs", "0006_slackapp_url_validators"),
    ]

    operations = [
        migrations.AddField(
            model_name="slackapp",
            name="use_pkce",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Send a PKCE code challenge (S256) with every install and its verifier "
                    "with the code exchange. Turn PKCE on in the app's settings on Slack "
                    "first. Slack then treats the app as a public client for good (it cannot "
                    "be turned off again) and expires its refresh tokens after 30 days: with "
                    "token rotation on, a workspace that stays quiet for 30 days must install "
                    "the app again."
                ),
                verbose_name="use PKCE",
            ),
        ),
        migrations.AddField(
            model_name="oauthattempt",
            name="code_verifier",
            field=slack_installs.fields.EncryptedTextField(
                blank=True, editable=False, null=True, verbose_name="PKCE code verifier"
            ),
        ),
    ]
