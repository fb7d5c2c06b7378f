"""django-slack-oauth 1.x's ``SlackOAuthRequest``, with a table and columns named unlike
the real ones, so a test tells whether the token import reads them from ``_meta``."""

from __future__ import annotations

from django.db import models


class SlackOAuthRequest(models.Model):
    associated_user = models.IntegerField(null=True, db_column="owner")  # the user's id
    access_token = models.CharField(max_length=128, db_column="token")
    extras = models.TextField(db_column="answer")

    class Meta:
        db_table = "legacy_oauth_requests"
        managed = False  # the test creates the table by hand, as django-slack-oauth left it

    def __str__(self) -> str:
        return f"OAuth request {self.pk}"
