"""Links to a page known by its slug, made without resolving the URL pattern every time.

``reverse()`` costs about 20 µs, and a list of cards links each publication and
each of its authors: the pattern of each URL name is reversed once (per URL
configuration and script prefix), and a slug of characters a URL keeps as they
are is put in its place. Any other slug goes through ``reverse()`` itself.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse

_PLACEHOLDER = "zzslugzz"
PLAIN_SLUG = re.compile(r"[-A-Za-z0-9_]+")  # what the slug converter accepts and quoting keeps


def slug_url(url_name: str, slug: str) -> str:
    """``reverse(url_name, kwargs={"slug": slug})``, the same string."""
    return slug_urls(url_name)(slug)


def slug_urls(url_name: str) -> Callable[[str], str]:
    """``slug_url`` for many slugs of one URL name, in one request: the configuration and the
    script prefix are looked up once."""
    pattern = _pattern(url_name, get_urlconf(), get_script_prefix())
    plain = PLAIN_SLUG.fullmatch

    def url(slug: str) -> str:
        if plain(slug):
            return pattern.replace(_PLACEHOLDER, slug)
        return reverse(url_name, kwargs={"slug": slug})

    return url


@functools.lru_cache(maxsize=256)
def _pattern(url_name: str, urlconf, prefix: str) -> str:
    return reverse(url_name, kwargs={"slug": _PLACEHOLDER}, urlconf=urlconf)


@receiver(setting_changed)
def _forget_patterns(*, setting, **kwargs) -> None:
    if setting == "ROOT_URLCONF":
        _pattern.cache_clear()
