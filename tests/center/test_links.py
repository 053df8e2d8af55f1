"""Links by slug: the same string ``reverse()`` makes, for any slug, prefix and URL configuration."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix

from center.links import slug_url

NAMES = [
    "publications:detail",
    "publications:theme",
    "publications:region",
    "publications:tag",
    "authors:detail",
]
SLUGS = ["energy-security-2024", "a_b.c~d", "климат", "café", "x y", "50%"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("slug", SLUGS)
def test_slug_url_is_what_reverse_makes(name, slug):
    try:
        expected = reverse(name, kwargs={"slug": slug})
    except NoReverseMatch:  # a slug the pattern refuses is refused the same way
        with pytest.raises(NoReverseMatch):
            slug_url(name, slug)
        return
    assert slug_url(name, slug) == expected


def test_slug_url_follows_the_script_prefix():
    plain = slug_url("publications:detail", "energy")
    set_script_prefix("/institute/")
    try:
        assert slug_url("publications:detail", "energy") == "/institute" + plain
        assert slug_url("publications:detail", "energy") == reverse(
            "publications:detail", kwargs={"slug": "energy"}
        )
    finally:
        clear_script_prefix()
    assert slug_url("publications:detail", "energy") == plain


def test_slug_url_follows_the_url_configuration():
    before = slug_url("publications:detail", "energy")
    with override_settings(ROOT_URLCONF="tests.center.prefixed_urls"):
        assert slug_url("publications:detail", "energy") == "/site" + before
    assert slug_url("publications:detail", "energy") == before
