"""A URLconf with a view that fails, for the 500 page's tests."""

from django.urls import path

from wmin.urls import handler404, handler500  # noqa: F401 - Django reads them here
from wmin.urls import urlpatterns as hub_urlpatterns


def broken(request):
    raise RuntimeError("secret-internal-detail")


urlpatterns = [path("broken/", broken), *hub_urlpatterns]
