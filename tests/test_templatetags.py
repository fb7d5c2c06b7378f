"""``{% slack_install_url %}`` and ``{% slack_install_button %}``."""

from __future__ import annotations

import logging
import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.template import Context, Template
from django.test import override_settings

from slack_installs import buttons
from slack_installs.models import SlackApp

pytestmark = pytest.mark.django_db

urlpatterns: list = []  # a URLconf without slack_installs.urls, for one test below


def render(source: str, **context) -> str:
    # A plain Context: the tags must not need a request.
    return Template("{% load slack_installs %}" + source).render(Context(context))


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[dict] = []
        self.tags: list[str] = []
        self._text: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self.links.append(dict(attrs))
            self._text = []

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._text is not None:
            self.links[-1]["text"] = "".join(self._text)
            self._text = None


def parse(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def test_install_url_is_the_install_view(slack_app):
    assert render('{% slack_install_url "acme" %}') == "/slack/acme/install/"


def test_install_url_with_team_and_next_is_encoded_and_escaped(slack_app):
    html = render(
        '{% slack_install_url "acme" team="T0123" next=next %}', next='/done/?a=1&b="<x>"'
    )
    assert html == (
        "/slack/acme/install/?team=T0123&amp;next=%2Fdone%2F%3Fa%3D1%26b%3D%22%3Cx%3E%22"
    )
    query = parse_qs(urlsplit(unescape(html)).query)
    assert query == {"team": ["T0123"], "next": ['/done/?a=1&b="<x>"']}


def test_install_url_as_a_variable(slack_app):
    html = render('{% slack_install_url "acme" next="/x/" as url %}<a href="{{ url }}">go</a>')
    assert html == '<a href="/slack/acme/install/?next=%2Fx%2F">go</a>'


def test_install_button_is_an_add_to_slack_link_to_our_install_view(slack_app):
    html = render('{% slack_install_button "acme" %}')
    parsed = parse(html)
    [link] = parsed.links
    assert link["href"] == "/slack/acme/install/"
    assert link["text"] == "Add to Slack"
    assert link["title"] == "Install Acme Bot in a Slack workspace"
    assert link["class"] == "slack-install-button"
    assert "slack.com" not in html
    assert "img" not in parsed.tags and "script" not in parsed.tags
    # The Slack mark is inline SVG, hidden from screen readers, in Slack's four colours.
    assert parsed.tags[:2] == ["a", "svg"]
    assert 'aria-hidden="true"' in html
    for colour in ("#36C5F0", "#2EB67D", "#ECB22E", "#E01E5A"):
        assert f'fill="{colour}"' in html


def test_install_button_escapes_next_and_team(slack_app):
    evil_next = '/x/"><script>alert(1)</script>'
    html = render(
        '{% slack_install_button "acme" team=team next=next %}', next=evil_next, team="T1&"
    )
    assert "<script>" not in html
    [link] = parse(html).links
    query = parse_qs(urlsplit(link["href"]).query)
    assert query == {"team": ["T1&"], "next": [evil_next]}
    assert link["href"].startswith("/slack/acme/install/?team=T1%26&next=")


def test_install_button_escapes_the_app_name(slack_app):
    slack_app.name = '<img src=x onerror="alert(1)">'
    slack_app.save()
    html = render('{% slack_install_button "acme" %}')
    assert "<img" not in html
    assert (
        parse(html).links[0]["title"]
        == 'Install <img src=x onerror="alert(1)"> in a Slack workspace'
    )


@pytest.mark.parametrize("tag", ["slack_install_url", "slack_install_button"])
def test_unknown_or_inactive_app_renders_nothing_and_warns(slack_app, tag, caplog):
    caplog.set_level(logging.WARNING, logger="slack_installs.buttons")
    assert render(f'{{% {tag} "nope" %}}') == ""
    assert "No active Slack app with slug 'nope'" in caplog.text

    SlackApp.objects.filter(pk=slack_app.pk).update(is_active=False)
    caplog.clear()
    assert render(f'{{% {tag} "acme" %}}') == ""
    assert "No active Slack app with slug 'acme'" in caplog.text


@pytest.mark.parametrize("tag", ["slack_install_url", "slack_install_button"])
def test_a_missing_slug_renders_nothing_and_warns(db, tag, caplog):
    caplog.set_level(logging.WARNING, logger="slack_installs.buttons")
    assert render(f"{{% {tag} undefined_variable %}}") == ""
    assert "needs the slug of a Slack app" in caplog.text


@override_settings(ROOT_URLCONF="tests.test_templatetags")
def test_without_our_urls_the_tags_render_nothing_and_warn(slack_app, caplog):
    caplog.set_level(logging.WARNING, logger="slack_installs.buttons")
    assert render('{% slack_install_button "acme" %}') == ""
    assert "include slack_installs.urls" in caplog.text


def test_the_plain_functions(slack_app):
    assert buttons.install_url("acme", team="T9") == "/slack/acme/install/?team=T9"
    assert buttons.install_url("nope") == ""
    assert str(buttons.install_button("nope")) == ""
    assert 'href="/slack/acme/install/?next=%2Fok%2F"' in buttons.install_button(
        "acme", next="/ok/"
    )


def test_the_button_starts_an_install(client, slack_app):
    href = parse(render('{% slack_install_button "acme" next="/thanks/" %}')).links[0]["href"]
    response = client.get(href)
    assert response.status_code == 302
    assert response["Location"].startswith("https://slack.test/oauth/v2/authorize?")
    assert slack_app.attempts.get().next_url == "/thanks/"


# --- Sign in with Slack ----------------------------------------------------------------


@pytest.fixture
def sign_in_app(slack_app):
    slack_app.sign_in_enabled = True
    slack_app.save()
    return slack_app


def test_sign_in_url_is_the_sign_in_view(sign_in_app):
    assert render('{% slack_sign_in_url "acme" %}') == "/slack/acme/sign-in/"
    html = render('{% slack_sign_in_url "acme" team="T0123" next="/a/?b=1" %}')
    assert html == "/slack/acme/sign-in/?team=T0123&amp;next=%2Fa%2F%3Fb%3D1"


def test_sign_in_button_is_slacks_sign_in_with_slack_button(sign_in_app):
    html = render('{% slack_sign_in_button "acme" next=next %}', next='/x/"><script>')
    parsed = parse(html)
    [link] = parsed.links
    assert link["class"] == "slack-sign-in-button"
    assert link["aria-label"] == "Sign in with Slack"
    assert link["text"] == "Sign in with Slack"
    assert parse_qs(urlsplit(link["href"]).query) == {"next": ['/x/"><script>']}
    # CSP-safe: one inline SVG drawn with attributes; no style, script, image or handler.
    assert parsed.tags[:2] == ["a", "svg"]
    assert not {"script", "style", "img"} & set(parsed.tags)
    assert "style=" not in html and not re.search(r"\son[a-z]+=", html)
    for colour in ("#36C5F0", "#2EB67D", "#ECB22E", "#E01E5A"):
        assert f'fill="{colour}"' in html


@pytest.mark.parametrize("tag", ["slack_sign_in_url", "slack_sign_in_button"])
def test_an_app_without_sign_in_renders_nothing_and_warns(slack_app, tag, caplog):
    caplog.set_level(logging.WARNING, logger="slack_installs.buttons")
    assert render(f'{{% {tag} "acme" %}}') == ""
    assert "does not sign anyone in" in caplog.text
    slack_app.sign_in_enabled = True
    slack_app.is_active = False
    slack_app.save()
    assert render(f'{{% {tag} "acme" %}}') == ""
    assert render(f'{{% {tag} "nope" %}}') == ""
    assert render(f"{{% {tag} undefined_variable %}}") == ""


def test_the_sign_in_button_starts_a_sign_in(client, sign_in_app):
    href = parse(str(buttons.sign_in_button("acme", next="/me/"))).links[0]["href"]
    response = client.get(href)
    assert response["Location"].startswith("https://slack.test/openid/connect/authorize?")
    attempt = sign_in_app.attempts.get()
    assert (attempt.kind, attempt.next_url) == ("sign_in", "/me/")
