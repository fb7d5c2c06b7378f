"""A URLconf with the pages other parts of the project add: the rotation pages (a stand-in
for the rotation mixin combined with SlackAppAdmin) and an events view."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpResponse
from django.urls import include, path

from slack_installs import urls as slack_urls
from slack_installs.admin import SlackAppAdmin
from slack_installs.models import SlackApp


class FakeRotationMixin:
    """Adds the rotation pages' URL names, as ``admin_rotation.SecretRotationAdminMixin`` will."""

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/rotate-client-secret/",
                lambda request, object_id: HttpResponse("rotate"),
                name=f"{prefix}_rotate_client_secret",
            ),
            path(
                "<path:object_id>/rotate-signing-secret/",
                lambda request, object_id: HttpResponse("rotate"),
                name=f"{prefix}_rotate_signing_secret",
            ),
            *super().get_urls(),
        ]


class RotatingSlackAppAdmin(FakeRotationMixin, SlackAppAdmin):
    pass


site = AdminSite(name="admin")
site.register(SlackApp, RotatingSlackAppAdmin)

# Listed first, so it wins over an events view slack_installs.urls may have by now.
events = path("<slug:slug>/slack-events/", lambda request, slug: HttpResponse(), name="events")

urlpatterns = [
    path("admin/", site.urls),
    path("slack/", include(([events, *slack_urls.urlpatterns], "slack_installs"))),
]
