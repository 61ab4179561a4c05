from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from lineled import views
from lineled.api import api
from monitoring.prometheus import metrics_view

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("team/", views.team, name="team"),
    path("system/", views.system_page, name="system"),
    path("system/ping", views.system_ping, name="system-ping"),
    path("chat/", include("chat.urls")),
    path("knowledge/", include("knowledge.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("validation/", include("validation.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]

handler404 = "lineled.views.not_found"
