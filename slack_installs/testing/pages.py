"""The HTML pages of the fake Slack: consent, error and status. Plain forms, no JavaScript."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 38rem; margin: 3rem auto; padding: 0 1rem;
       line-height: 1.5; color: #1d1c1d; }
.banner { background: #fff4d6; border: 1px solid #ecb22e; border-radius: 6px; padding: .5rem .8rem;
          font-size: .9rem; }
fieldset { border: 1px solid #ddd; border-radius: 6px; margin: 1rem 0; }
label { display: block; margin: .3rem 0; }
.actions { display: flex; gap: .8rem; margin-top: 1.5rem; }
button { font-size: 1rem; padding: .5rem 1.4rem; border-radius: 4px; border: 1px solid #bbb;
         background: #fff; cursor: pointer; }
button.allow { background: #007a5a; border-color: #007a5a; color: #fff; font-weight: 600; }
code { background: #f4f4f4; padding: 0 .3em; border-radius: 3px; }
table { border-collapse: collapse; } td, th { padding: .2rem .6rem; border-bottom: 1px solid #eee;
text-align: left; }
"""

BANNER = (
    '<p class="banner">This is a <strong>fake Slack</strong> for development and tests. '
    "Nothing here talks to the real Slack.</p>"
)


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Fake Slack</title>"
        # No icon: the browser asks for no /favicon.ico (a 404 in its console).
        f'<link rel="icon" href="data:,"><style>{_STYLE}</style></head>'
        f"<body><main>{BANNER}{body}</main></body></html>\n"
    )


def _scope_list(scopes: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li><code>{escape(s)}</code></li>" for s in scopes) + "</ul>"


# The Allow and Cancel buttons of a consent page.
DECISION = (
    '<div class="actions">'
    '<button class="allow" type="submit" name="decision" value="allow">Allow</button>'
    '<button type="submit" name="decision" value="deny">Cancel</button>'
    "</div>"
)


def hidden_fields(hidden: dict[str, str]) -> str:
    """The request's parameters, carried through a consent form."""
    return "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in hidden.items()
    )


def workspace_choices(workspaces: Iterable[tuple[str, str]], selected: str) -> str:
    """A radio button per ``(value, label)`` workspace, ``selected`` checked."""
    return "".join(
        f'<label><input type="radio" name="workspace" value="{escape(value)}"'
        f"{' checked' if value == selected else ''}> {escape(label)}</label>"
        for value, label in workspaces
    )


def consent_page(
    *,
    app_name: str,
    hidden: dict[str, str],
    workspaces: Iterable[tuple[str, str]],
    selected: str,
    channels: Sequence[tuple[str, str]] | None,
    bot_scopes: Sequence[str],
    user_scopes: Sequence[str],
) -> str:
    """The "<app> is requesting permission" page with Allow and Cancel.

    ``workspaces`` are ``(value, label)`` pairs; ``channels`` too, shown only when the
    app asks for ``incoming-webhook``.
    """
    fields = hidden_fields(hidden)
    options = workspace_choices(workspaces, selected)
    channel_picker = ""
    if channels:
        channel_options = "".join(
            f'<option value="{escape(value)}">{escape(label)}</option>' for value, label in channels
        )
        channel_picker = (
            '<p><label for="channel">Where should it post?</label>'
            f'<select id="channel" name="channel">{channel_options}</select></p>'
        )
    scopes = ""
    if bot_scopes:
        scopes += "<h2>It will be able to</h2>" + _scope_list(bot_scopes)
    if user_scopes:
        scopes += "<h2>On your behalf, it will be able to</h2>" + _scope_list(user_scopes)
    body = (
        f"<h1>{escape(app_name)} is requesting permission to access a Slack workspace</h1>"
        '<form method="post" action="/oauth/v2/authorize">'
        f"{fields}<fieldset><legend>Workspace</legend>{options}</fieldset>"
        f"{channel_picker}{scopes}"
        f"{DECISION}</form>"
    )
    return _page(f"Install {app_name}", body)


def error_page(title: str, detail: str) -> str:
    """What the fake shows instead of the consent page when the request is wrong."""
    body = f'<h1 id="error">{escape(title)}</h1><p>{escape(detail)}</p>'
    return _page(title, body)


def status_page(
    *, url: str, apps: Iterable[Any], workspaces: Iterable[Any], messages: Sequence[Any]
) -> str:
    """The fake's home page: registered apps, workspaces and the latest messages."""
    app_rows = "".join(
        f"<tr><td>{escape(app.name or '-')}</td><td><code>{escape(app.client_id)}</code></td>"
        f"<td>{'on' if app.token_rotation else 'off'}</td></tr>"
        for app in apps
    )
    workspace_rows = "".join(
        f"<tr><td>{escape(ws.label)}</td><td><code>{escape(ws.key)}</code></td></tr>"
        for ws in workspaces
    )
    message_rows = "".join(
        f"<tr><td>{escape(m.team_id or m.enterprise_id)}</td><td>{escape(m.channel)}</td>"
        f"<td>{escape(m.text)}</td></tr>"
        for m in reversed(messages[-20:])
    )
    body = (
        "<h1>Fake Slack</h1>"
        f"<p>Authorize page: <code>{escape(url)}/oauth/v2/authorize</code><br>"
        f"Web API: <code>{escape(url)}/api/</code></p>"
        "<h2>Registered apps</h2><table><tr><th>Name</th><th>Client id</th>"
        f"<th>Token rotation</th></tr>{app_rows}</table>"
        "<h2>Workspaces</h2><table><tr><th>Workspace</th><th>Id</th></tr>"
        f"{workspace_rows}</table>"
        "<h2>Latest messages</h2><table><tr><th>Workspace</th><th>Channel</th><th>Text</th></tr>"
        f"{message_rows or '<tr><td colspan=3>None yet.</td></tr>'}</table>"
    )
    return _page("Fake Slack", body)
