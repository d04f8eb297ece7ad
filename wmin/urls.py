from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from . import health, home
from .feeds import views as feeds_views

urlpatterns = [
    path("", home.home, name="home"),
    path("accessibility/", home.accessibility, name="accessibility"),
    path("health/", health.health, name="health"),
    path("metrics", feeds_views.metrics, name="metrics"),
    path("accounts/", include("accounts.urls")),
    path("sites/", include("slots.urls")),
    path("network/", include("wmin.network.urls")),
    path("", include("booking.urls")),
    # One staff sign-in, with its limits and audit, for the admin too.
    path("admin/login/", RedirectView.as_view(pattern_name="accounts:sign-in", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/", include("wmin.api.urls")),
    path("fhir/", include("wmin.api.fhir.urls")),
]

handler403 = "wmin.errors.permission_denied"
handler404 = "wmin.errors.not_found"
handler500 = "wmin.errors.server_error"
