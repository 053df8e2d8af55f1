"""Fixtures shared by the whole suite.

Settings notice they run under pytest (``center.settings.TESTING``): debug stays
off as in production, but no secret key or HTTPS redirect is needed, tasks run
at once, and with Redis each xdist worker gets its own Redis database.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _fixed_fragments_follow_settings():
    """Each process keeps the site's fixed fragments for its life (center/templatetags/fragments.py);
    only tests change settings, so here a change forgets them."""
    from django.test.signals import setting_changed

    from center.templatetags import fragments

    setting_changed.connect(fragments.forget_fixed_fragments, dispatch_uid="tests.fixed_fragments")
    yield
    setting_changed.disconnect(dispatch_uid="tests.fixed_fragments")


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Every test writes its uploads to a fresh temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests log in a lot (lockout, browser); real hashing costs a quarter second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    from center import caching

    cache.clear()
    caching.reset()
    yield
    cache.clear()
    caching.reset()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_superuser(
        username="editor", email="editor@example.org", password="correct horse battery staple"
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def no_login_lockout(settings):
    """Turn django-axes off, for tests that call ``client.login()``.

    Axes needs the request to check a login and Django's test client does not pass one
    (``force_login`` needs nothing). The lockout itself is tested in tests/center/test_login_lockout.py.
    """
    settings.AXES_ENABLED = False


@pytest.fixture
def editor(db):
    """A staff member of the Editor group (created by the roles data migration)."""
    from tests.factories import UserFactory

    return UserFactory(username="editor-role", groups=["Editor"])


@pytest.fixture
def contributor(db):
    """A staff member of the Contributor group."""
    from tests.factories import UserFactory

    return UserFactory(username="contributor-role", groups=["Contributor"])


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def contributor_client(client, contributor):
    client.force_login(contributor)
    return client


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgresql`` run in the PostgreSQL pass, ``sqlite`` in the SQLite pass.

    The other pass deselects them (it does not skip them): ``make test`` runs both
    passes, and in CI a pass whose server is missing fails.
    """
    from django.conf import settings

    vendor = "postgresql" if "postgresql" in settings.DATABASES["default"]["ENGINE"] else "sqlite"
    other = "sqlite" if vendor == "postgresql" else "postgresql"
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker(other) else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
