from django.contrib import admin
from django.urls import include, path

from demo_site import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("slack/", include("slack_installs.urls")),
]
