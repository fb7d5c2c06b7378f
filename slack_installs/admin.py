"""A minimal admin so the demo is usable; the full admin lives in its own issue."""

from django.contrib import admin

from .admin_rotation import SecretRotationAdminMixin
from .models import Installation, OAuthAttempt, SlackApp, UserToken


@admin.register(SlackApp)
class SlackAppAdmin(SecretRotationAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "client_id", "is_active"]
    prepopulated_fields = {"slug": ["name"]}

    def get_exclude(self, request, obj=None):
        # Secrets can be typed in when adding an app, never shown or edited afterwards.
        hidden = ["previous_signing_secret"]
        return hidden if obj is None else [*hidden, "client_secret", "signing_secret"]


@admin.register(Installation)
class InstallationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "app", "team_id", "enterprise_id", "installed_at", "revoked_at"]
    list_filter = ["app"]
    list_select_related = ["app"]
    exclude = ["bot_token", "bot_refresh_token", "incoming_webhook_url"]

    def has_add_permission(self, request):
        return False


@admin.register(UserToken)
class UserTokenAdmin(admin.ModelAdmin):
    list_display = ["slack_user_id", "installation", "revoked_at"]
    exclude = ["access_token", "refresh_token"]


@admin.register(OAuthAttempt)
class OAuthAttemptAdmin(admin.ModelAdmin):
    list_display = ["created_at", "app", "status", "error"]
    list_filter = ["status", "app"]

    def has_add_permission(self, request):
        return False
