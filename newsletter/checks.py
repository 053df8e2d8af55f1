"""Deployment check: the links in the emails must be https (RFC 8058 one-click unsubscribe)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def check_site_url_https(app_configs, **kwargs):
    if settings.SITE_URL.startswith("https://"):
        return []
    return [
        checks.Warning(
            "SITE_URL is not an https:// address.",
            hint="Newsletter emails build their links and the List-Unsubscribe header from SITE_URL; "
            "mail providers require https for one-click unsubscribe.",
            id="newsletter.W001",
        )
    ]
