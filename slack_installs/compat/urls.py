"""django-slack-oauth's URL names for the Slack app ``default``.

Include it where django-slack-oauth's URLconf was, next to ours::

    path("slack/", include("slack_installs.urls")),
    path("slack/", include("slack_installs.compat.urls")),

so ``{% url 'slack_auth' %}`` and ``{% url 'slack_success' %}`` keep working. The
pages live under ``login/`` so they never collide with our own ``success/`` and
``error/`` (old hard-coded ``/slack/success/`` links land on ours).
"""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.slack_auth, name="slack_auth"),
    path("login/success/", views.slack_success, name="slack_success"),
    path("login/error/", views.slack_error, name="slack_error"),
]
