"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings


def site(request):
    """The site's name and base URL, for titles and absolute links."""
    return {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL}
