"""A Bolt for Python app running on the installs slack_installs keeps.

The example of ``docs/bolt.md``. Every Slack app of the admin gets a Bolt
endpoint at ``/slack/bolt/<slug>/events/``: point the app's Slash Commands,
Event Subscriptions and Interactivity there. It answers ``/hello`` and
``app_mention`` events, and Bolt's built-in ``app_uninstalled`` /
``tokens_revoked`` listeners revoke the installation in our tables.

Workspaces still install through slack_installs' own install view; Bolt reads
those installs (and saves the tokens it refreshes) through
``DjangoInstallationStore``. Needs ``slack_bolt``; ``demo_site/urls.py`` routes
the endpoint only when it is installed.
"""

from __future__ import annotations

import functools

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_bolt import App
from slack_bolt.adapter.django import SlackRequestHandler
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient

from slack_installs.conf import app_settings
from slack_installs.contrib.bolt import DjangoInstallationStore, DjangoOAuthStateStore
from slack_installs.models import SlackApp


def register_listeners(bolt: App) -> None:
    """What the demo Slack app does."""

    @bolt.command("/hello")
    def hello(ack, command, context) -> None:
        ack(f"Hello <@{command['user_id']}>! <@{context.bot_user_id}> answers from Django.")

    @bolt.event("app_mention")
    def mentioned(event, say) -> None:
        say(f"Hi <@{event['user']}>, I heard you.")


def build_bolt_app(
    *, slug: str, signing_secret: str, client_id: str, client_secret: str, api_url: str
) -> App:
    """A Bolt app for one of our Slack apps, on our stores and our Slack API URL."""
    installation_store = DjangoInstallationStore(app=slug)
    bolt = App(
        signing_secret=signing_secret,
        # The same Slack as slack_installs talks to (the fake Slack in the demo).
        client=WebClient(base_url=f"{api_url}/", timeout=int(app_settings.HTTP_TIMEOUT)),
        installation_store=installation_store,
        # The client id and secret let Bolt refresh rotating tokens; it saves them
        # through the store, encrypted. Installs go through slack_installs' views, so
        # Bolt's own install and redirect paths are not routed to this app.
        oauth_settings=OAuthSettings(
            client_id=client_id,
            client_secret=client_secret,
            installation_store=installation_store,
            state_store=DjangoOAuthStateStore(app=slug),
        ),
        # Listeners run in the request's thread, on the request's DB connection.
        process_before_response=True,
    )
    bolt.enable_token_revocation_listeners()
    register_listeners(bolt)
    return bolt


@functools.lru_cache(maxsize=16)
def _handler(
    slug: str, signing_secret: str, client_id: str, client_secret: str, api_url: str
) -> SlackRequestHandler:
    # Keyed by the secrets too, so a secret changed in the admin takes effect at once.
    return SlackRequestHandler(
        build_bolt_app(
            slug=slug,
            signing_secret=signing_secret,
            client_id=client_id,
            client_secret=client_secret,
            api_url=api_url,
        )
    )


@csrf_exempt
@require_POST
def events(request: HttpRequest, slug: str) -> HttpResponse:
    """Slash commands, events and interactions of the Slack app ``slug``, handled by Bolt."""
    slack_app = SlackApp.objects.filter(slug=slug, is_active=True).first()
    signing_secret = slack_app.signing_secret if slack_app is not None else None
    if slack_app is None or not signing_secret:
        raise Http404("No active Slack app with a signing secret has this slug")
    handler = _handler(
        slack_app.slug,
        signing_secret,
        slack_app.client_id,
        slack_app.client_secret,
        app_settings.API_URL,
    )
    return handler.handle(request)
