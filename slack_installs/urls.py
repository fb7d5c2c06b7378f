from __future__ import annotations

from django.urls import path

from . import views

app_name = "slack_installs"

urlpatterns = [
    path("success/", views.success, name="success"),
    path("error/", views.error, name="error"),
    path("<slug:slug>/install/", views.install, name="install"),
    path("<slug:slug>/oauth/callback/", views.callback, name="callback"),
    path("<slug:slug>/events/", views.events, name="events"),
    path("<slug:slug>/sign-in/", views.sign_in, name="sign_in"),
    path("<slug:slug>/sign-in/callback/", views.sign_in_callback, name="sign_in_callback"),
]
