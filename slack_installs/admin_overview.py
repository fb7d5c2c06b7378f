"""The admin's overview (``admin:slack_installs_overview``): how installs are going, per app.

Per Slack app: active installs, tokens due for refresh, installs needing a re-install or
missing scopes; installs and uninstalls per week over the last ``WEEKS`` weeks (from
``InstallationEvent``) and install attempts by outcome and error code over the last
``ATTEMPT_DAYS`` days (from ``OAuthAttempt``), drawn as SVG by the template. Every number
links to the changelist that lists those rows.

``build_overview`` reads everything in seven queries (the apps; the active installs, those
needing a re-install, those missing scopes and the due tokens, each a grouped count from
a partial index of its own; the weekly counts ``InstallationEventCount`` keeps as the
events happen; the attempts of the window), however many installations, events and apps
there are; it reads no secret column, so it decrypts nothing. Weeks are the site's
(``TIME_ZONE``), Monday to Sunday.

The page is the changelist of ``Overview``, a proxy model without permissions of its own:
so it is an entry of the app list on the admin index (which belongs to the host) and
shows to staff who may view installations.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .admin_paginator import EstimatedCountPaginator
from .models import (
    Installation,
    InstallationEvent,
    InstallationEventCount,
    OAuthAttempt,
    Overview,
    SlackApp,
    week_of,
)
from .tokens import due_bot_tokens

WEEKS = 26
ATTEMPT_DAYS = 30

INSTALL_KINDS = (InstallationEvent.Kind.INSTALLED, InstallationEvent.Kind.REINSTALLED)
UNINSTALL_KINDS = (InstallationEvent.Kind.UNINSTALLED, InstallationEvent.Kind.REVOKED)

# The weekly chart's geometry, in SVG user units (the CSS scales the drawing to its box).
_SLOT, _BAR, _PLOT_HEIGHT, _LEFT, _TOP, _BOTTOM = 24, 10, 120, 34, 16, 22
# The attempts chart: one row per outcome and error.
_ROW, _LABEL_WIDTH, _BAR_ROOM = 22, 230, 330


def may_view_installations(request: HttpRequest) -> bool:
    """Whether the user may see installations (change implies view, as in the admin)."""
    user: Any = request.user
    return user.has_perm("slack_installs.view_installation") or user.has_perm(
        "slack_installs.change_installation"
    )


@dataclass
class Figure:
    """One number of the overview and the changelist listing its rows."""

    label: str
    value: int
    url: str


@dataclass
class Bar:
    """One mark of a chart: a rectangle, its value's text, and where it links."""

    x: float
    y: float
    width: float
    height: float
    css: str
    title: str
    value: int
    url: str
    text_x: float = 0
    text_y: float = 0
    label: str = ""  # the row's name, on the attempts chart


@dataclass
class Week:
    start: datetime.date
    counts: dict[str, Figure]
    installs: Figure
    uninstalls: Figure


@dataclass
class AppOverview:
    """What the page shows of one app."""

    app: SlackApp
    figures: list[Figure]
    weeks: list[Week] = field(default_factory=list)
    week_bars: list[Bar] = field(default_factory=list)
    week_ticks: list[tuple[float, str]] = field(default_factory=list)
    week_scale: int = 1
    installs_total: int = 0
    uninstalls_total: int = 0
    outcomes: list[Figure] = field(default_factory=list)
    attempts: list[Figure] = field(default_factory=list)
    attempt_bars: list[Bar] = field(default_factory=list)
    attempts_height: int = 0


@dataclass
class OverviewData:
    apps: list[AppOverview]
    first_week: datetime.date
    last_week: datetime.date
    attempts_since: datetime.datetime
    weeks: int = WEEKS
    attempt_days: int = ATTEMPT_DAYS
    chart_width: int = _LEFT + WEEKS * _SLOT + 8
    chart_height: int = _TOP + _PLOT_HEIGHT + _BOTTOM
    plot_bottom: int = _TOP + _PLOT_HEIGHT
    plot_left: int = _LEFT
    attempts_width: int = _LABEL_WIDTH + _BAR_ROOM + 50


def _changelist(site: str, model: str, **params: Any) -> str:
    url = reverse(f"{site}:slack_installs_{model}_changelist")
    return f"{url}?{urlencode(params)}"


def _aware_midnight(day: datetime.date) -> datetime.datetime:
    """The start of ``day`` in the site's time zone, in which the weeks are counted."""
    return timezone.make_aware(
        datetime.datetime.combine(day, datetime.time.min), timezone.get_default_timezone()
    )


def _per_app(rows: QuerySet[Installation]) -> dict[int, int]:
    """How many of ``rows`` each app has: one grouped COUNT(*)."""
    grouped = rows.order_by().values("app_id").annotate(n=Count("*"))
    return {row["app_id"]: row["n"] for row in _rows(grouped)}


def _rows(queryset: Any) -> list[dict[str, Any]]:
    """An aggregate's rows, as plain dicts (the stubs' TypedDicts differ per query)."""
    return list(queryset)


def build_overview(*, site: str = "admin", now: datetime.datetime | None = None) -> OverviewData:
    """The overview of every app, in seven queries; ``site``: the admin site's name,
    for the links."""
    now = now or timezone.now()
    last_week = week_of(now)
    first_week = last_week - datetime.timedelta(weeks=WEEKS - 1)
    attempts_since = now - datetime.timedelta(days=ATTEMPT_DAYS)

    apps = list(SlackApp.objects.order_by("name", "pk").only("pk", "name", "slug", "is_active"))
    active = Installation.objects.filter(revoked_at__isnull=True)
    # One count per figure, each from a partial index of its own (see Installation.Meta):
    # COUNT(*), which PostgreSQL answers from the index alone.
    counts = {
        name: _per_app(rows)
        for name, rows in (
            ("active", active),
            ("needs_reinstall", active.filter(needs_reinstall_at__isnull=False)),
            ("scopes_missing", active.filter(scopes_missing=True)),
            ("due", due_bot_tokens()),
        )
    }
    weekly: dict[int, dict[tuple[datetime.date, str], int]] = defaultdict(dict)
    for app_id, week, kind, count in InstallationEventCount.objects.filter(
        week__gte=first_week
    ).values_list("app_id", "week", "kind", "count"):
        weekly[app_id][(week, kind)] = count
    attempts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in _rows(
        OAuthAttempt.objects.filter(kind=OAuthAttempt.Kind.INSTALL, created_at__gte=attempts_since)
        .order_by()
        .values("app_id", "status", "error")
        .annotate(n=Count("pk"))
    ):
        attempts[row["app_id"]].append(row)

    data = OverviewData(
        apps=[], first_week=first_week, last_week=last_week, attempts_since=attempts_since
    )
    for app in apps:
        numbers = {name: per_app.get(app.pk, 0) for name, per_app in counts.items()}
        installations = {"app__id__exact": app.pk}
        entry = AppOverview(
            app=app,
            figures=[
                Figure(
                    _("Active installs"),
                    numbers["active"],
                    _changelist(site, "installation", **installations, status="active"),
                ),
                Figure(
                    _("Tokens due for refresh"),
                    numbers["due"],
                    _changelist(site, "installation", **installations, token="due"),
                ),
                Figure(
                    _("Needing a re-install"),
                    numbers["needs_reinstall"],
                    _changelist(
                        site,
                        "installation",
                        **installations,
                        status="active",
                        needs_reinstall="yes",
                    ),
                ),
                Figure(
                    _("Missing scopes"),
                    numbers["scopes_missing"],
                    _changelist(
                        site, "installation", **installations, status="active", scopes="missing"
                    ),
                ),
            ],
        )
        _weeks(entry, weekly.get(app.pk, {}), first_week, site)
        _attempts(entry, attempts.get(app.pk, []), attempts_since, site)
        data.apps.append(entry)
    return data


def _event_link(site: str, app: SlackApp, kinds: tuple[str, ...], start: datetime.date) -> str:
    return _changelist(
        site,
        "installationevent",
        app__id__exact=app.pk,
        kind__in=",".join(kinds),
        at__gte=_aware_midnight(start).isoformat(),
        at__lt=_aware_midnight(start + datetime.timedelta(weeks=1)).isoformat(),
    )


def _weeks(
    entry: AppOverview,
    counts: dict[tuple[datetime.date, str], int],
    first_week: datetime.date,
    site: str,
) -> None:
    """Fill in the weeks, their bars (installs, then uninstalls) and the axis labels."""
    app = entry.app
    for index in range(WEEKS):
        start = first_week + datetime.timedelta(weeks=index)
        by_kind = {
            kind: Figure(
                str(label),
                counts.get((start, kind), 0),
                _event_link(site, app, (kind,), start),
            )
            for kind, label in InstallationEvent.Kind.choices
        }
        installs = sum(by_kind[kind].value for kind in INSTALL_KINDS)
        uninstalls = sum(by_kind[kind].value for kind in UNINSTALL_KINDS)
        entry.weeks.append(
            Week(
                start=start,
                counts=by_kind,
                installs=Figure(
                    _("installs"), installs, _event_link(site, app, INSTALL_KINDS, start)
                ),
                uninstalls=Figure(
                    _("uninstalls"), uninstalls, _event_link(site, app, UNINSTALL_KINDS, start)
                ),
            )
        )
    entry.installs_total = sum(week.installs.value for week in entry.weeks)
    entry.uninstalls_total = sum(week.uninstalls.value for week in entry.weeks)
    scale = max([1, *(max(w.installs.value, w.uninstalls.value) for w in entry.weeks)])
    entry.week_scale = scale
    for index, week in enumerate(entry.weeks):
        slot = _LEFT + index * _SLOT
        day = formats.date_format(week.start, "j M Y")
        if (WEEKS - 1 - index) % 4 == 0:  # every fourth week, back from this one
            entry.week_ticks.append((slot + _SLOT / 2, formats.date_format(week.start, "j M")))
        for offset, figure, css, title in (
            (
                2,
                week.installs,
                "slack-overview-bar-installs",
                ngettext(
                    "Week of %(day)s: %(count)d install",
                    "Week of %(day)s: %(count)d installs",
                    week.installs.value,
                ),
            ),
            (
                2 + _BAR,
                week.uninstalls,
                "slack-overview-bar-uninstalls",
                ngettext(
                    "Week of %(day)s: %(count)d uninstall",
                    "Week of %(day)s: %(count)d uninstalls",
                    week.uninstalls.value,
                ),
            ),
        ):
            if not figure.value:
                continue
            height = max(1.0, figure.value / scale * _PLOT_HEIGHT)
            title = title % {"day": day, "count": figure.value}
            entry.week_bars.append(
                Bar(
                    x=slot + offset,
                    y=round(_TOP + _PLOT_HEIGHT - height, 1),
                    width=_BAR - 1,
                    height=round(height, 1),
                    css=css,
                    title=title,
                    value=figure.value,
                    url=figure.url,
                    text_x=slot + offset + (_BAR - 1) / 2,
                    text_y=round(_TOP + _PLOT_HEIGHT - height - 3, 1),
                )
            )


_OUTCOME_CSS = {
    OAuthAttempt.Status.SUCCEEDED: "slack-overview-bar-succeeded",
    OAuthAttempt.Status.FAILED: "slack-overview-bar-failed",
    OAuthAttempt.Status.DENIED: "slack-overview-bar-denied",
    OAuthAttempt.Status.PENDING: "slack-overview-bar-pending",
}


def _attempts(
    entry: AppOverview, rows: list[dict[str, Any]], since: datetime.datetime, site: str
) -> None:
    """Fill in the attempts by outcome, and by outcome and error code with their bars."""
    app = entry.app
    window = {"app__id__exact": app.pk, "kind": OAuthAttempt.Kind.INSTALL}
    window["created_at__gte"] = since.isoformat()
    labels = dict(OAuthAttempt.Status.choices)
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        totals[row["status"]] += row["n"]
    entry.outcomes = [
        Figure(
            str(labels[status]),
            totals[status],
            _changelist(site, "oauthattempt", **window, status=status),
        )
        for status in labels
        if totals.get(status)
    ]
    ordered = sorted(rows, key=lambda row: (-row["n"], row["status"], row["error"]))
    entry.attempts = [
        Figure(
            f"{labels.get(row['status'], row['status'])}: {row['error']}"
            if row["error"]
            else str(labels.get(row["status"], row["status"])),
            row["n"],
            _changelist(site, "oauthattempt", **window, status=row["status"], error=row["error"])
            if row["error"]
            # No error: the exact blank value (the error filter's own parameter means "any").
            else _changelist(site, "oauthattempt", **window, status=row["status"], error__exact=""),
        )
        for row in ordered
    ]
    scale = max([1, *(figure.value for figure in entry.attempts)])
    for index, (row, figure) in enumerate(zip(ordered, entry.attempts, strict=True)):
        width = max(1.0, figure.value / scale * _BAR_ROOM)
        top = index * _ROW + 4
        entry.attempt_bars.append(
            Bar(
                x=_LABEL_WIDTH,
                y=top,
                width=round(width, 1),
                height=_ROW - 6,
                css=_OUTCOME_CSS.get(row["status"], "slack-overview-bar-pending"),
                title=ngettext(
                    "%(what)s: %(count)d attempt", "%(what)s: %(count)d attempts", figure.value
                )
                % {"what": figure.label, "count": figure.value},
                value=figure.value,
                url=figure.url,
                text_x=round(_LABEL_WIDTH + width + 6, 1),
                text_y=top + (_ROW - 6) / 2 + 4,
                label=figure.label,
            )
        )
    entry.attempts_height = max(1, len(entry.attempt_bars)) * _ROW + 4


@admin.register(Overview)
class OverviewAdmin(admin.ModelAdmin):
    """The overview page as the changelist of ``Overview``: view-only, for staff who may
    view installations."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_view_installations(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.overview_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}"  # slack_installs_overview
        return [
            path("", view, name=name),
            # The app list links to a model's changelist under this name.
            path("", view, name=f"{name}_changelist"),
        ]

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        data = build_overview(site=self.admin_site.name)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Overview of Slack installs"),
            "opts": self.opts,
            "overview": data,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/slack_installs/overview.html", context)


@admin.register(InstallationEvent)
class InstallationEventAdmin(admin.ModelAdmin):
    """The install history, read-only: what the overview's weekly numbers link to."""

    list_display = ["at", "app", "kind", "installation"]
    list_filter = ["kind", "app"]
    list_select_related = ["app", "installation"]
    fields = ("at", "app", "kind", "installation")
    readonly_fields = fields
    show_full_result_count = False
    paginator = EstimatedCountPaginator  # a history of a million installs is not counted

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or may_view_installations(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Events go only with their app: deleting an app in the admin asks this of each
        # event it takes along. No event is ever deleted on its own (delete_view refuses).
        user: Any = request.user
        return obj is not None and user.has_perm("slack_installs.delete_slackapp")

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        raise PermissionDenied

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)
