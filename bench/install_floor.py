"""The floor of the install benchmark: the least a Django install with our contract costs.

Two bare views write what the contract asks of every install, in hand-written SQL on our
tables, with the same three commits as ours: the attempt when the install starts (any
worker can finish it), the claim of its state before the code exchange, then the
installation and the attempt's outcome together. They check no more than the claim of the
state, run no pipelines and render nothing, so no complete implementation can be
cheaper; the ratio of the floor to Bolt shows how much of the target is reachable at all.
"""

from __future__ import annotations

import datetime
import json
import secrets
from types import SimpleNamespace

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.utils import timezone

from slack_installs import client, crypto
from slack_installs.client import redact
from slack_installs.conf import app_settings
from slack_installs.oauth import authorize_url, digest

COOKIE = "floor_browser"


def _datetime(value: datetime.datetime) -> object:
    return connection.ops.adapt_datetimefield_value(value)


def install(request: HttpRequest, slug: str) -> HttpResponse:
    browser = request.COOKIES.get(COOKIE) or secrets.token_urlsafe(32)
    state = secrets.token_urlsafe(32)
    redirect_uri = request.build_absolute_uri(f"/floor/{slug}/callback/")
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, client_id, bot_scopes, user_scopes FROM slack_installs_slackapp "
            "WHERE slug = %s",
            [slug],
        )
        app_id, client_id, bot_scopes, user_scopes = cursor.fetchone()
        cursor.execute(
            "INSERT INTO slack_installs_oauthattempt (app_id, kind, status, error, state_digest, "
            "browser_digest, redirect_uri, next_url, team, created_at, expires_at) "
            "VALUES (%s, 'install', 'pending', '', %s, %s, %s, '', '', %s, %s)",
            [
                app_id,
                digest(state),
                digest(browser),
                redirect_uri,
                _datetime(now),
                _datetime(now + datetime.timedelta(seconds=app_settings.STATE_TTL)),
            ],
        )
    app = SimpleNamespace(client_id=client_id, bot_scopes=bot_scopes, user_scopes=user_scopes)
    response = HttpResponseRedirect(authorize_url(app, state=state, redirect_uri=redirect_uri))
    response.set_cookie(COOKIE, browser, httponly=True, samesite="Lax")
    return response


@transaction.non_atomic_requests
def callback(request: HttpRequest, slug: str) -> HttpResponse:
    state_digest = digest(request.GET["state"])
    now = _datetime(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, client_id, client_secret FROM slack_installs_slackapp WHERE slug = %s",
            [slug],
        )
        app_id, client_id, stored_secret = cursor.fetchone()
        cursor.execute(
            "UPDATE slack_installs_oauthattempt SET consumed_at = %s WHERE state_digest = %s "
            "AND app_id = %s AND browser_digest = %s AND status = 'pending' "
            "AND consumed_at IS NULL AND expires_at > %s",
            [now, state_digest, app_id, digest(request.COOKIES[COOKIE]), now],
        )
        if cursor.rowcount != 1:
            return HttpResponseBadRequest("invalid state")
        cursor.execute(
            "SELECT id, redirect_uri FROM slack_installs_oauthattempt WHERE state_digest = %s",
            [state_digest],
        )
        attempt_id, redirect_uri = cursor.fetchone()
    answer = client.oauth_v2_access(
        client_id=client_id,
        client_secret=crypto.decrypt(stored_secret),
        code=request.GET["code"],
        redirect_uri=redirect_uri,
    )
    bot = client.auth_test(answer["access_token"])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO slack_installs_installation (app_id, enterprise_id, enterprise_name, "
            "team_id, team_name, is_enterprise_install, bot_user_id, bot_id, bot_scopes, "
            "bot_token, incoming_webhook_channel, incoming_webhook_channel_id, "
            "incoming_webhook_configuration_url, installer_user_id, installed_at, updated_at, "
            "enterprise_url, custom_values) "
            "VALUES (%s, '', '', %s, %s, %s, %s, %s, %s, %s, '', '', '', %s, %s, %s, '', '{}') "
            "ON CONFLICT (app_id, enterprise_id, team_id) DO UPDATE SET "
            "team_name = excluded.team_name, bot_user_id = excluded.bot_user_id, "
            "bot_id = excluded.bot_id, bot_scopes = excluded.bot_scopes, "
            "bot_token = excluded.bot_token, installer_user_id = excluded.installer_user_id, "
            "installed_at = excluded.installed_at, updated_at = excluded.updated_at "
            "RETURNING id",
            [
                app_id,
                answer["team"]["id"],
                answer["team"]["name"],
                False,
                answer["bot_user_id"],
                bot["bot_id"],
                answer["scope"],
                crypto.encrypt(answer["access_token"]),
                answer["authed_user"]["id"],
                now,
                now,
            ],
        )
        (installation_id,) = cursor.fetchone()
        cursor.execute(
            "UPDATE slack_installs_oauthattempt SET status = 'succeeded', finished_at = %s, "
            "installation_id = %s, response = %s WHERE id = %s",
            [now, installation_id, json.dumps(redact(answer)), attempt_id],
        )
    return HttpResponseRedirect("/installed/")
