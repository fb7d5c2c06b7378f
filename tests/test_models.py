import pytest

from slack_installs.models import Installation, OAuthAttempt, UserToken
from tests import slack_payloads

pytestmark = pytest.mark.django_db


def test_str_never_shows_a_secret(slack_app):
    installation = Installation.objects.create(
        app=slack_app,
        team_id="T1",
        team_name="Acme",
        bot_token=slack_payloads.BOT_TOKEN,
        incoming_webhook_url=slack_payloads.WEBHOOK_URL,
    )
    token = UserToken.objects.create(
        installation=installation, slack_user_id="U1", access_token=slack_payloads.USER_TOKEN
    )
    from django.utils import timezone

    attempt = OAuthAttempt.objects.create(
        app=slack_app, state_digest="d" * 64, expires_at=timezone.now()
    )
    texts = [str(slack_app), str(installation), str(token), str(attempt), repr(installation)]
    assert texts[:3] == ["Acme Bot", "Acme", f"U1 on installation {installation.pk}"]
    for text in texts:
        for secret in [
            slack_payloads.BOT_TOKEN,
            slack_payloads.USER_TOKEN,
            slack_payloads.WEBHOOK_URL,
            "canary-client-secret-5555",
        ]:
            assert secret not in text


def test_one_installation_per_workspace_and_per_org(slack_app):
    from django.db import IntegrityError, transaction

    Installation.objects.create(app=slack_app, team_id="T1")
    Installation.objects.create(app=slack_app, enterprise_id="E1", team_id="")
    Installation.objects.create(app=slack_app, enterprise_id="E1", team_id="T1")
    for kwargs in [{"team_id": "T1"}, {"enterprise_id": "E1", "team_id": ""}]:
        with pytest.raises(IntegrityError), transaction.atomic():
            Installation.objects.create(app=slack_app, **kwargs)
