"""``{% fixedfragment %}``: the site's frame, rendered once per process, whatever the caches."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import override_settings
from django.urls import reverse, set_script_prefix

from center.templatetags import fragments
from tests.factories import PublicationFactory, ThemeFactory

FIXED = Template(
    '{% load fragments %}{% fixedfragment "probe" section %}{{ counter }}|{{ section }}{% endfixedfragment %}'
)


class Counter:
    """Counts how often the template shows it."""

    def __init__(self):
        self.shown = 0

    def __str__(self) -> str:
        self.shown += 1
        return str(self.shown)


@pytest.fixture(autouse=True)
def no_fixed_fragments():
    fragments.forget_fixed_fragments()
    yield
    fragments.forget_fixed_fragments()


def render(counter: Counter, section: str = "home") -> str:
    return FIXED.render(Context({"counter": counter, "section": section}))


@override_settings(VALUE_CACHE_SECONDS=0)
def test_rendered_once_per_key_even_with_every_cache_off():
    counter = Counter()
    assert render(counter) == "1|home"
    assert render(counter) == "1|home"
    assert render(counter, "publications:index") == "2|publications:index"
    assert render(counter, "publications:index") == "2|publications:index"
    assert counter.shown == 2


def test_a_change_of_settings_forgets_them():
    counter = Counter()
    render(counter)
    with override_settings(SITE_NAME="Another institute"):
        assert render(counter) == "2|home"
    assert render(counter) == "3|home"  # leaving the override is a change too


@override_settings(DEBUG=True)
def test_rendered_every_time_with_debug_on():
    """With DEBUG on, templates are edited while the server runs."""
    counter = Counter()
    render(counter)
    assert render(counter) == "2|home"


def test_another_script_prefix_has_its_own():
    counter = Counter()
    render(counter)
    try:
        set_script_prefix("/site/")
        assert render(counter) == "2|home"
    finally:
        set_script_prefix("/")
    assert render(counter) == "1|home"


def test_past_the_limit_they_start_over(monkeypatch):
    monkeypatch.setattr(fragments, "FIXED_MAX_ENTRIES", 2)
    counter = Counter()
    render(counter, "a"), render(counter, "b")
    assert render(counter, "c") == "3|c"
    assert len(fragments._fixed) == 1
    assert render(counter, "a") == "4|a"


def test_needs_a_name():
    with pytest.raises(TemplateSyntaxError, match="'fixedfragment' needs a name"):
        Template("{% load fragments %}{% fixedfragment %}x{% endfixedfragment %}")


@pytest.mark.django_db
@override_settings(PAGE_CACHE_SECONDS=0)
def test_the_frame_follows_the_section_and_the_footer_topics_follow_the_content(client):
    """The header marks each section's own link; a new theme shows in every page's footer at once,
    though the rest of the footer is a fixed fragment."""
    PublicationFactory()
    index = client.get(reverse("publications:index")).content.decode()
    themes = client.get(reverse("publications:themes")).content.decode()
    assert 'href="/publications/" aria-current="page">Publications' in index
    assert 'aria-current="page">Themes' in themes and 'aria-current="page">Themes' not in index
    assert ">Maritime law</label>" not in index

    ThemeFactory(name="Maritime law")

    for path in (reverse("publications:index"), reverse("cookies")):
        page = client.get(path).content.decode()
        assert ">Maritime law</label>" in page
        assert page.count('id="footer-subscribe-email"') == 1
        assert page.count('id="cookie-notice"') == 1


def test_the_site_does_not_load_the_test_framework():
    """Forgetting fixed fragments on a change of settings is wired up by the test suite, not by the
    site: a process of the site, its templates loaded, never imports ``django.test`` (its client,
    test cases, unittest)."""
    code = (
        "import sys, django; django.setup(); from django.template.loader import get_template; "
        "get_template('base.html'); print('django.test' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "center.settings", "DJANGO_TESTING": "1"}
    found = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"
