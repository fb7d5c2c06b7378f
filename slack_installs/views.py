"""Install, OAuth callback, events, and the default success and error pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.validators import slug_re
from django.db import router, transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.debug import SafeExceptionReporterFilter
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import events as slack_events
from . import oauth, signin
from .conf import app_settings
from .exceptions import InvalidState
from .models import Installation, OAuthAttempt, SlackApp, safe_redirect_target, slack_id_shape
from .oauth import ERROR_CODE

_ENTERPRISE_ID = slack_id_shape("E")


class NoLocalsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error reports that show no local variables, for requests whose stack holds tokens.

    While an install is saved, Slack's answer (every token) sits in local variables of
    our frames and of the ORM's below them; Django's error report (mailed to ADMINS
    with ``include_html``, and logged by its template engine at DEBUG) would show them.
    """

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        if not self.is_active(request):
            return super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]


_NO_LOCALS = NoLocalsExceptionReporterFilter()


def error_message(code: str, *, flow: str = OAuthAttempt.Kind.INSTALL) -> str:
    """Plain words for an error code of an install (or a sign-in): what happened, what to do."""
    if flow == OAuthAttempt.Kind.SIGN_IN:
        return _sign_in_error_message(code)
    messages = {
        "invalid_state": _(
            "This install link has expired, was already used, or was started in another "
            "browser. Nothing was installed. Please start the install again."
        ),
        "access_denied": _(
            "The install was cancelled on Slack, so nothing was installed. You can start "
            "again whenever you like."
        ),
        "missing_code": _(
            "Slack did not send an authorization code back. Nothing was installed. "
            "Please start the install again."
        ),
        "pipeline_failed": _(
            "The app was installed, but a follow-up step failed. The site's administrators "
            "can see the details; you do not need to install again."
        ),
        "timeout": _(
            "Slack took too long to answer. Nothing was installed. Please try again in a moment."
        ),
        "connection_error": _(
            "Slack could not be reached. Nothing was installed. Please try again."
        ),
        "ratelimited": _(
            "Slack asked us to slow down. Nothing was installed. Please try again in a minute."
        ),
        "http_error": _(
            "Slack answered with an error. Nothing was installed. Please try again later."
        ),
        "invalid_response": _(
            "Slack's answer could not be understood. Nothing was installed. Please try again."
        ),
        "internal_error": _(
            "Something went wrong on this site while finishing the install. Please try "
            "again; if it keeps failing, tell the site's administrators (they can see the "
            "details in the site's logs)."
        ),
    }
    return messages.get(
        code,
        _(
            "Slack refused the install (error code: %(code)s). Nothing was installed. "
            "Please try again, or contact the site's administrators with this code."
        )
        % {"code": code},
    )


ERROR_TEMPLATES: dict[str, str] = {
    OAuthAttempt.Kind.INSTALL: "slack_installs/install_error.html",
    OAuthAttempt.Kind.SIGN_IN: "slack_installs/sign_in_error.html",
}


def render_error(
    request: HttpRequest,
    code: str,
    *,
    app: SlackApp | None = None,
    status: int = 400,
    flow: str = OAuthAttempt.Kind.INSTALL,
) -> HttpResponse:
    code = code if ERROR_CODE.match(code or "") else "unknown_error"
    context = {
        "error_code": code,
        "error_message": error_message(code, flow=flow),
        "slack_app": app,
    }
    return render(request, ERROR_TEMPLATES[flow], context, status=status)


def _app_or_404(slug: str, *, active: bool = True) -> SlackApp:
    app = _app_by_slug(slug)
    if app is None or (active and not app.is_active):
        raise Http404("No such Slack app.")
    return app


def _app_by_slug(slug: str) -> SlackApp | None:
    # get(), not first(): a unique key needs no ORDER BY, and building one costs more than
    # the query takes on the install path (python -m bench install_roundtrip).
    try:
        return SlackApp.objects.get(slug=slug)
    except SlackApp.DoesNotExist:
        return None


@require_GET
@never_cache
def install(request: HttpRequest, slug: str) -> HttpResponse:
    app = _app_or_404(slug)
    if not app.has_credentials:  # not created on Slack yet (docs/manifests.md)
        raise Http404("This Slack app has no client id and secret yet.")
    started = oauth.start_install(
        request, app, team=request.GET.get("team"), next_url=request.GET.get("next")
    )
    return _to_slack(request, started)


def _to_slack(request: HttpRequest, started: oauth.StartedInstall) -> HttpResponse:
    """The redirect to Slack's page, binding the browser to the attempt just started."""
    response = HttpResponseRedirect(started.authorize_url)
    oauth.bind_browser(response, request, started.browser_id)
    return response


def _non_atomic_everywhere(view: Any) -> Any:
    """Exempt ``view`` from ``ATOMIC_REQUESTS`` on every database, not only ``default``: the
    models may be routed to another one."""
    for alias in settings.DATABASES:
        view = transaction.non_atomic_requests(using=alias)(view)
    return view


# With ATOMIC_REQUESTS the claim of the state must still commit before Slack is called,
# and pipeline steps must run after the installation is committed.
@_non_atomic_everywhere
@require_GET
@never_cache
def callback(request: HttpRequest, slug: str) -> HttpResponse:
    request.exception_reporter_filter = _NO_LOCALS  # type: ignore[attr-defined, unused-ignore]
    app = _app_or_404(slug)
    try:
        outcome = oauth.complete_install(request, app)
    except InvalidState:
        return render_error(request, "invalid_state", app=app, status=400)
    if not outcome.succeeded:
        # A URL stored before validation existed (or a bad setting) is as good as none.
        error_url = safe_redirect_target(app.error_url) or safe_redirect_target(
            app_settings.ERROR_URL
        )
        if error_url:
            separator = "&" if "?" in error_url else "?"
            return HttpResponseRedirect(
                f"{error_url}{separator}{urlencode({'error': outcome.error})}"
            )
        return render_error(request, outcome.error, app=app, status=400)
    target = (
        outcome.attempt.next_url
        or safe_redirect_target(app.success_url)
        or safe_redirect_target(app_settings.SUCCESS_URL)
        or success_page_url(app, outcome.installation)
    )
    return HttpResponseRedirect(target)


# The success page's org hint is for the page shown right after the install, not a bookmark.
ENTERPRISE_HINT_MAX_AGE = 3600


def _enterprise_signer(app: SlackApp) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"slack_installs.success:{app.slug}")


def success_page_url(app: SlackApp, installation: Installation | None = None) -> str:
    """The built-in success page for an install of ``app``.

    For an org-wide install it carries ``enterprise``: the org's id, signed for this app,
    so the page can tell the admin the next step without anyone being able to ask it
    which orgs installed the app.
    """
    query = {"app": app.slug}
    if installation is not None and installation.is_enterprise_install:
        query["enterprise"] = _enterprise_signer(app).sign(installation.enterprise_id)
    return f"{reverse('slack_installs:success')}?{urlencode(query)}"


def _app_named_in(request: HttpRequest) -> SlackApp | None:
    """The app of ``?app=<slug>``; anything but a slug names none (PostgreSQL refuses NUL)."""
    slug = request.GET.get("app", "")
    return _app_by_slug(slug) if slug_re.match(slug) else None


def _org_wide_install(request: HttpRequest, app: SlackApp | None) -> Installation | None:
    """The active org-wide installation of ``app`` that ``?enterprise=`` names, if any.

    Only a display hint: it must carry our signature for this app and name an org-wide
    installation that is still active, otherwise the page is the workspace one.
    """
    hint = request.GET.get("enterprise", "")
    if app is None or not hint or len(hint) > 200:
        return None
    try:
        enterprise_id = _enterprise_signer(app).unsign(hint, max_age=ENTERPRISE_HINT_MAX_AGE)
    except signing.BadSignature:
        return None
    if not _ENTERPRISE_ID.match(enterprise_id):
        return None
    # Read where the callback wrote: a replica may not have the install yet.
    installations = Installation.objects.using(router.db_for_write(Installation))
    installation = installations.filter(
        app=app,
        enterprise_id=enterprise_id,
        team_id="",
        is_enterprise_install=True,
        revoked_at__isnull=True,
    ).first()
    if installation is not None:
        installation.app = app
    return installation


@require_GET
def success(request: HttpRequest) -> HttpResponse:
    app = _app_named_in(request)
    org_install = _org_wide_install(request, app)
    context = {
        "slack_app": app,
        "org_install": org_install,
        "add_workspaces_url": org_install.add_workspaces_url if org_install else "",
    }
    return render(request, "slack_installs/install_success.html", context)


@require_GET
def error(request: HttpRequest) -> HttpResponse:
    app = _app_named_in(request)
    return render_error(request, request.GET.get("error", ""), app=app, status=200)


@_non_atomic_everywhere
@csrf_exempt  # Slack cannot send a CSRF token; the request signature stands in for it.
@require_POST
def events(request: HttpRequest, slug: str) -> HttpResponse:
    # An inactive app takes no new installs, but its uninstall events still count.
    app = _app_or_404(slug, active=False)
    body = request.body
    verified = slack_events.verify_request(
        app,
        body=body,
        timestamp=request.headers.get("X-Slack-Request-Timestamp"),
        signature=request.headers.get("X-Slack-Signature"),
    )
    if not verified:
        return HttpResponseForbidden("invalid or expired request signature")
    try:
        answer = slack_events.handle(app, slack_events.parse(body))
    except slack_events.MalformedEvent as exc:
        return HttpResponseBadRequest(str(exc))
    return JsonResponse(answer) if answer is not None else HttpResponse(status=200)


# --- Sign in with Slack ----------------------------------------------------------------


def _sign_in_error_message(code: str) -> str:
    messages = {
        "invalid_state": _(
            "This sign-in link has expired, was already used, or was started in another "
            "browser. You are not signed in. Please sign in again."
        ),
        "access_denied": _(
            "The sign-in was cancelled on Slack, so you are not signed in. You can sign in "
            "again whenever you like."
        ),
        "missing_code": _(
            "Slack did not send an authorization code back. You are not signed in. Please "
            "sign in again."
        ),
        "invalid_id_token": _(
            "Slack's answer about who you are could not be verified, so you are not signed "
            "in. Please sign in again; if it keeps failing, tell the site's administrators."
        ),
        "team_not_allowed": _(
            "Your Slack workspace may not sign in to this site. You are not signed in. Sign in "
            "with an account of a workspace this site accepts, or ask its administrators."
        ),
        "identity_taken": _(
            "This Slack account already belongs to another account on this site, so it was "
            "not linked and you were not signed in as it. Sign out and sign in with Slack "
            "again, or ask the site's administrators."
        ),
        "no_account": _(
            "There is no account on this site for this Slack account, and this site does not "
            "make new ones at sign-in. Ask the site's administrators for an account."
        ),
        "user_inactive": _(
            "The account on this site for this Slack account is disabled. You are not signed "
            "in. Ask the site's administrators."
        ),
        "timeout": _(
            "Slack took too long to answer. You are not signed in. Please try again in a moment."
        ),
        "connection_error": _(
            "Slack could not be reached. You are not signed in. Please try again."
        ),
        "ratelimited": _(
            "Slack asked us to slow down. You are not signed in. Please try again in a minute."
        ),
        "http_error": _(
            "Slack answered with an error. You are not signed in. Please try again later."
        ),
        "invalid_response": _(
            "Slack's answer could not be understood. You are not signed in. Please try again."
        ),
        "internal_error": _(
            "Something went wrong on this site while signing you in. Please try again; if it "
            "keeps failing, tell the site's administrators (they can see the details in the "
            "site's logs)."
        ),
    }
    return messages.get(
        code,
        _(
            "Slack refused the sign-in (error code: %(code)s). You are not signed in. Please "
            "try again, or contact the site's administrators with this code."
        )
        % {"code": code},
    )


def _sign_in_app_or_404(slug: str) -> SlackApp:
    app = _app_or_404(slug)
    if not app.sign_in_enabled or not app.has_credentials:
        raise Http404("This Slack app does not sign anyone in.")
    return app


@require_GET
@never_cache
def sign_in(request: HttpRequest, slug: str) -> HttpResponse:
    app = _sign_in_app_or_404(slug)
    started = signin.start_sign_in(
        request, app, team=request.GET.get("team"), next_url=request.GET.get("next")
    )
    return _to_slack(request, started)


# As for the install callback: the claim of the state commits before Slack is called.
@_non_atomic_everywhere
@require_GET
@never_cache
def sign_in_callback(request: HttpRequest, slug: str) -> HttpResponse:
    request.exception_reporter_filter = _NO_LOCALS  # type: ignore[attr-defined, unused-ignore]
    app = _sign_in_app_or_404(slug)
    flow = OAuthAttempt.Kind.SIGN_IN
    try:
        outcome = signin.complete_sign_in(request, app)
    except InvalidState:
        return render_error(request, "invalid_state", app=app, status=400, flow=flow)
    if not outcome.succeeded:
        return render_error(request, outcome.error, app=app, status=400, flow=flow)
    return HttpResponseRedirect(outcome.redirect_url)
