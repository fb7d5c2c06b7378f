"""A stand-in ``slack_installs`` tag library, to test the admin's button preview seam."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def slack_install_button(slug: str) -> str:
    url = reverse("slack_installs:install", kwargs={"slug": slug})
    return format_html('<a class="fake-button" href="{}">Add to Slack</a>', url)
