"""A URLconf with the site's routes plus one view that always fails (for error-page tests)."""

from django.urls import path

from center.urls import handler500
from center.urls import urlpatterns as site_urlpatterns

SECRET_MARKER = "settings-must-never-show-this"


def boom(request):
    raise RuntimeError(f"kaboom {SECRET_MARKER}")


urlpatterns = [path("boom/", boom, name="boom"), *site_urlpatterns]

__all__ = ["handler500", "urlpatterns"]
