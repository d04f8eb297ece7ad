from django.contrib import admin
from django.urls import include, path

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
    path("admin/", admin.site.urls),
    path("api/", include("wmin.api.urls")),
    path("fhir/", include("wmin.api.fhir.urls")),
]

handler403 = "wmin.errors.permission_denied"
handler404 = "wmin.errors.not_found"
