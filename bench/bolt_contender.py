"""The anchor of the install benchmark: Bolt's OAuthFlow with slack_sdk's SQLAlchemy stores,
served through Bolt's Django adapter."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

CLIENT_ID = "5000.5000"
CLIENT_SECRET = "bolt-bench-client-secret"
_handler: Any = None


def configure(*, slack_url: str, api_url: str, database_url: str, redirect_uri: str) -> Any:
    """Build the Bolt app once the fake Slack and the database are known; return its store."""
    global _handler
    import sqlalchemy
    from slack_bolt import App
    from slack_bolt.adapter.django import SlackRequestHandler
    from slack_bolt.oauth.oauth_settings import OAuthSettings
    from slack_sdk import WebClient
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

    engine = sqlalchemy.create_engine(database_url)
    installation_store = SQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=engine)
    installation_store.create_tables()
    state_store = SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine)
    state_store.metadata.create_all(engine)
    app = App(
        signing_secret="bolt-bench-signing-secret",
        client=WebClient(base_url=f"{api_url}/"),
        token_verification_enabled=False,
        oauth_settings=OAuthSettings(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            scopes=["chat:write", "commands"],
            redirect_uri=redirect_uri,
            install_path="/bolt/install/",
            redirect_uri_path="/bolt/oauth_redirect/",
            install_page_rendering_enabled=False,
            authorization_url=f"{slack_url}/oauth/v2/authorize",
            installation_store=installation_store,
            state_store=state_store,
        ),
    )
    _handler = SlackRequestHandler(app=app)
    return installation_store


def view(request: HttpRequest) -> HttpResponse:
    return _handler.handle(request)
