"""Signals sent by slack_installs. The library connects no receivers to them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after an install is committed and its pipelines ran.
# Keyword arguments: app, installation, attempt, request, api_data (Slack's redacted JSON).
installation_completed = Signal()

# Sent after an installation was revoked (admin action, app_uninstalled event, health check).
# Keyword arguments: app, installation, reason ("admin", "app_uninstalled", "tokens_revoked",
# "health_check").
installation_revoked = Signal()

# Sent once per verified event delivery to the events URL.
# Keyword arguments: app, payload (the decoded JSON body), installation (or None).
slack_event_received = Signal()

# Sent after Sign in with Slack logged a Django user in.
# Keyword arguments: app, identity (the SlackIdentity), user, created (True when the Django
# user was made by this sign-in), request.
user_signed_in_with_slack = Signal()
