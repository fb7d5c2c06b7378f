"""Builders of Slack's JSON, in one place, shaped like Slack's documented answers."""

from __future__ import annotations

from typing import Any

BOT_TOKEN = "xoxb-canary-bot-1111-aaaabbbbcccc"
USER_TOKEN = "xoxp-canary-user-2222-ddddeeeeffff"
WEBHOOK_URL = "https://hooks.slack.com/services/T0CANARY/B0CANARY/canarywebhooksecret"
BOT_REFRESH_TOKEN = "xoxe-1-canary-bot-refresh-3333"
USER_REFRESH_TOKEN = "xoxe-1-canary-user-refresh-4444"
CLIENT_SECRET = "canary-client-secret-5555"
SIGNING_SECRET = "canary-signing-secret-6666"

# Every secret the fixtures plant; none may ever show up outside an encrypted column.
CANARIES = (
    BOT_TOKEN,
    USER_TOKEN,
    WEBHOOK_URL,
    BOT_REFRESH_TOKEN,
    USER_REFRESH_TOKEN,
    CLIENT_SECRET,
    SIGNING_SECRET,
)


def oauth_v2_access(
    *,
    team_id: str = "T0001",
    team_name: str = "Acme",
    enterprise: dict[str, str] | None = None,
    bot_token: str | None = BOT_TOKEN,
    bot_scopes: str = "chat:write,commands",
    user_token: str | None = None,
    user_scopes: str = "",
    installer: str = "U0001",
    webhook_url: str | None = None,
    org_wide: bool = False,
    rotating: bool = False,
    app_id: str | None = "A0001",
) -> dict[str, Any]:
    """A successful ``oauth.v2.access`` answer (without ``app_id`` when it is None)."""
    data: dict[str, Any] = {
        "ok": True,
        "app_id": app_id,
        "team": None if org_wide else {"id": team_id, "name": team_name},
        "enterprise": enterprise,
        "is_enterprise_install": org_wide,
        "authed_user": {"id": installer},
    }
    if bot_token:
        data.update(
            access_token=bot_token,
            token_type="bot",
            scope=bot_scopes,
            bot_user_id="W0BOT" if org_wide else "U0BOT",
        )
        if rotating:
            data.update(expires_in=43200, refresh_token=BOT_REFRESH_TOKEN)
    if user_token:
        data["authed_user"].update(scope=user_scopes, access_token=user_token, token_type="user")
        if rotating:
            data["authed_user"].update(expires_in=43200, refresh_token=USER_REFRESH_TOKEN)
    if app_id is None:
        del data["app_id"]
    if webhook_url:
        data["incoming_webhook"] = {
            "channel": "#general",
            "channel_id": "C0001",
            "configuration_url": "https://acme.slack.com/services/B0001",
            "url": webhook_url,
        }
    return data


def auth_test(
    *,
    team_id: str = "T0001",
    bot_id: str = "B0BOT",
    url: str = "https://acme.slack.com/",
    enterprise_id: str | None = None,
    org_wide: bool = False,
) -> dict[str, Any]:
    """``auth.test`` of a bot token: ``url`` is the workspace's, or the org's for an
    org-wide token (Bolt keeps that one as ``enterprise_url``)."""
    data: dict[str, Any] = {
        "ok": True,
        "url": url,
        "team": "Acme",
        "user": "bot",
        "team_id": team_id,
        "user_id": "W0BOT" if org_wide else "U0BOT",
        "bot_id": bot_id,
    }
    if enterprise_id:
        data["enterprise_id"] = enterprise_id
    if org_wide:
        data["is_enterprise_install"] = True
    return data


def error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}


# --- Events API ------------------------------------------------------------------------


def url_verification(challenge: str) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "challenge": challenge,
        "type": "url_verification",
    }


def event_callback(
    event: dict[str, Any],
    *,
    team_id: str | None = "T0001",
    enterprise_id: str | None = None,
    org_wide: bool = False,
    event_id: str = "Ev0001",
    event_time: int = 1_700_000_000,
) -> dict[str, Any]:
    """The envelope Slack wraps every event in, with the one authorization it carries."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "enterprise_id": enterprise_id,
        "api_app_id": "A0001",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": enterprise_id,
                "team_id": None if org_wide else team_id,
                "user_id": "W0BOT" if org_wide else "U0BOT",
                "is_bot": True,
                "is_enterprise_install": org_wide,
            }
        ],
        "is_ext_shared_channel": False,
    }


def app_uninstalled(**envelope: Any) -> dict[str, Any]:
    return event_callback({"type": "app_uninstalled"}, **envelope)


def tokens_revoked(
    *, oauth: tuple[str, ...] = (), bot: tuple[str, ...] = (), **envelope: Any
) -> dict[str, Any]:
    """Slack lists the user ids whose tokens were revoked, never the tokens."""
    tokens = {"oauth": list(oauth), "bot": list(bot)}
    return event_callback({"type": "tokens_revoked", "tokens": tokens}, **envelope)
