"""A URLconf whose admin combines SlackAppAdmin with a stand-in for the rotation mixin."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpResponse
from django.urls import include, path

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

urlpatterns = [
    path("admin/", site.urls),
    path("slack/", include("slack_installs.urls")),
]
