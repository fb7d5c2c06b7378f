"""What the fake Slack knows and records: workspaces, apps, tokens, calls and messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class FakeSlackError(Exception):
    """A helper of the fake Slack was used wrongly, or the fake refused a consent."""


@dataclass(frozen=True)
class Workspace:
    """A workspace the consent page offers; with ``org_wide`` it is a whole Grid org."""

    team_id: str
    team_name: str
    domain: str
    installer_id: str
    enterprise_id: str = ""
    enterprise_name: str = ""
    org_wide: bool = False

    @property
    def key(self) -> str:
        """What identifies the choice: the team id, or the enterprise id for org-wide."""
        return self.enterprise_id if self.org_wide else self.team_id

    @property
    def label(self) -> str:
        if self.org_wide:
            return f"{self.enterprise_name} (the whole organization)"
        if self.enterprise_name:
            return f"{self.team_name} (in {self.enterprise_name})"
        return self.team_name

    @property
    def url(self) -> str:
        middle = ".enterprise" if self.org_wide else ""
        return f"https://{self.domain}{middle}.slack.com/"

    def team_json(self) -> dict[str, str] | None:
        return None if self.org_wide else {"id": self.team_id, "name": self.team_name}

    def enterprise_json(self) -> dict[str, str] | None:
        if not self.enterprise_id:
            return None
        return {"id": self.enterprise_id, "name": self.enterprise_name}


DEFAULT_WORKSPACES: tuple[Workspace, ...] = (
    Workspace(
        team_id="T0ACME0001", team_name="Acme Corp", domain="acme", installer_id="U0ACME0001"
    ),
    Workspace(
        team_id="T0GLOBEX01",
        team_name="Globex Sales",
        domain="globex-sales",
        installer_id="W0GLOBEX01",
        enterprise_id="E0GLOBEX01",
        enterprise_name="Globex Corporation",
    ),
    Workspace(
        team_id="",
        team_name="",
        domain="globex",
        installer_id="W0GLOBEX01",
        enterprise_id="E0GLOBEX01",
        enterprise_name="Globex Corporation",
        org_wide=True,
    ),
)

WEBHOOK_CHANNELS: tuple[tuple[str, str], ...] = (
    ("#general", "C0GENERAL1"),
    ("#random", "C0RANDOM01"),
)


def webhook_channel(name: Any) -> tuple[str, str]:
    """The ``(name, id)`` of a webhook channel given by name or id; default the first."""
    for channel in WEBHOOK_CHANNELS:
        if name in channel:
            return channel
    return WEBHOOK_CHANNELS[0]


@dataclass(frozen=True)
class FakeApp:
    """A Slack app the fake knows: what Slack keeps on its side of the app's settings."""

    client_id: str
    client_secret: str
    signing_secret: str = ""
    name: str = ""
    app_id: str = ""
    token_rotation: bool = False

    @classmethod
    def of(cls, slack_app: Any, *, token_rotation: bool = False) -> FakeApp:
        """The fake's view of a ``slack_installs.models.SlackApp`` (secrets decrypted)."""
        return cls(
            client_id=slack_app.client_id,
            client_secret=slack_app.client_secret,
            signing_secret=slack_app.signing_secret or "",
            name=slack_app.name or slack_app.client_id,
            app_id=slack_app.app_id or f"A0FAKE{slack_app.pk or 0:04d}",
            token_rotation=token_rotation,
        )


@dataclass(frozen=True)
class IssuedToken:
    """A token the fake handed out. ``kind`` is ``bot``, ``user`` or ``refresh``."""

    value: str
    kind: str
    client_id: str
    workspace: Workspace
    user_id: str
    scopes: tuple[str, ...] = ()
    bot_id: str = ""
    refreshes: str = ""  # for a refresh token: the kind of token it renews
    expires_at: float | None = None
    revoked: bool = False

    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    @property
    def enterprise_id(self) -> str:
        return self.workspace.enterprise_id


@dataclass(frozen=True)
class Call:
    """One Web API call as the fake received it. ``status`` is 0 for a dropped connection."""

    method: str
    params: dict[str, Any]
    auth: str | None  # "basic", "bearer" or None
    client_id: str | None
    token: str | None
    status: int
    response: dict[str, Any] | None


@dataclass(frozen=True)
class Message:
    """A message posted with ``chat.postMessage`` or to an incoming webhook."""

    channel: str
    text: str
    team_id: str
    enterprise_id: str
    client_id: str
    user_id: str
    ts: str
    via: str
    blocks: Any = None
    thread_ts: str | None = None
