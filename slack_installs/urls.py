from django.urls import path

from . import views

app_name = "slack_installs"

urlpatterns = [
    path("success/", views.success, name="success"),
    path("error/", views.error, name="error"),
    path("<slug:slug>/install/", views.install, name="install"),
    path("<slug:slug>/oauth/callback/", views.callback, name="callback"),
    path("<slug:slug>/events/", views.events, name="events"),
]
