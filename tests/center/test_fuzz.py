"""Hostile and broken input on every public URL: never a 5xx, echoed input always escaped.

For each route of the URLconf (see ``public_urls``), hypothesis sends random
and malformed query strings (huge values, invalid integers, dates and page
numbers, unknown and repeated parameters, Unicode edge cases, NUL bytes, SQL
and HTML fragments, broken percent-encoding) as GET, and the same data as a
POST form body. A marker ``<script>x</script>`` must never come back as markup.

The rate limits (search, exports, reactions, subscribing) are lifted here: they
would answer most examples with 429 before the views ever saw the input. Each
route gets ``EXAMPLES_PER_URL`` examples, and the test checks that every
request reached its view (no 429). The module prints the totals at the end.
"""

from __future__ import annotations

import sys
from http import HTTPStatus
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from newsletter import tokens
from publications.models import Publication
from tests.center.public_urls import argument_value, public_routes
from tests.factories import (
    AuthorFactory,
    PublicationFactory,
    ReferenceFactory,
    RegionFactory,
    SubscriberFactory,
    ThemeFactory,
)

MARKER = "<script>x</script>"
EXAMPLES_PER_URL = 60
INPUTS_TRIED = {"count": 0, "examples": 0, "routes": 0, "reached_views": 0}

# Parameter names the site's views read (listing filters, search, OAI-PMH, forms), plus junk.
KNOWN_KEYS = [
    "page", "q", "kind", "theme", "region", "tag", "author", "year", "year_from", "year_to",
    "date_from", "date_to", "from", "until", "sort", "order", "lang", "language", "per_page",
    "fmt", "format", "verb", "metadataPrefix", "identifier", "set", "resumptionToken",
    "email", "name", "themes", "regions", "form_started", "website", "consent", "token", "value",
    "letter", "p", "stamp",
]  # fmt: skip
HOSTILE_VALUES = [
    MARKER,
    f'"><svg onload=alert(1)>{MARKER}',
    "' OR '1'='1' --",
    "1; DROP TABLE publications_publication; --",
    "\x00",
    "a\x00b",
    "-1",
    "0",
    "1.5",
    "99999999999999999999999999",
    "9" * 400,
    "1e309",
    "NaN",
    "-0",
    "2024-13-45",
    "0000-00-00",
    "9999-12-31T25:61:61",
    "../../etc/passwd",
    "%",
    "%00",
    "\u202e\u200b\ufeff",
    "𝕏𝔜ℤ 東京 مرحبا",
    "e\u0301\u0301\u0301",
    "A" * 10_000,
    "",
    " ",
    "null",
    "[]",
    "{}",
    "true",
]
# Query strings no encoder would produce.
RAW_QUERIES = [
    "%ZZ",
    "a=%E2%82",
    "page=%FF%FE",
    "&&&===&",
    "q",
    "page[]=1&page[]=2",
    "q=" + "%3Cscript%3Ex%3C%2Fscript%3E",
    "page=1&page=2&page=abc",
    ";;;",
    "%00=%00",
]

keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(min_size=1, max_size=20))
values = st.one_of(
    st.sampled_from(HOSTILE_VALUES),
    st.integers().map(str),
    st.text(max_size=200),
    st.dates().map(str),
)
pairs = st.lists(st.tuples(keys, values), max_size=8)
raw_queries = st.sampled_from(RAW_QUERIES)


def _encodable(text: str) -> str:
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def query_string(data) -> str:
    if isinstance(data, str):
        return data
    return urlencode([(_encodable(k), _encodable(v)) for k, v in data])


def assert_inert(response) -> None:
    """The response is no 5xx and carries no live marker markup."""
    assert response.status_code < 500, response.status_code
    content_type = response.get("Content-Type", "")
    if response.streaming or not content_type.startswith(("text/html", "application/xml", "text/xml")):
        return
    if "+xml" in content_type or "xml" in content_type or "html" in content_type:
        assert MARKER not in response.content.decode("utf-8", "replace")


@pytest.fixture
def objects(db):
    theme, region = ThemeFactory(), RegionFactory()
    author = AuthorFactory()
    publication = PublicationFactory(
        authors=[author], themes=[theme], regions=[region], tags=["energy security"]
    )
    PublicationFactory(kind=Publication.Kind.BLOG_POST, themes=[theme], tags=["energy security"])
    ReferenceFactory(publication=publication)
    subscriber = SubscriberFactory()
    return {
        "publication": publication.slug,
        "theme": theme.slug,
        "region": region.slug,
        "tag": publication.tags.first().slug,
        "author": author.slug,
        "kind": Publication.Kind.REPORT.value,
        "section": "publications",
        "confirm_token": tokens.make_token(subscriber, tokens.CONFIRM),
        "manage_token": tokens.make_token(subscriber, tokens.MANAGE),
    }


@pytest.fixture
def no_rate_limits(settings):
    """Limits far above what one test sends, so every example reaches its view."""
    for name in (
        "SEARCH_RATE_LIMIT",
        "EXPORT_RATE_LIMIT",
        "REACTION_RATE_LIMIT",
        "NEWSLETTER_RATE_PER_IP",
        "NEWSLETTER_RATE_PER_EMAIL",
    ):
        setattr(settings, name, 10**9)


@pytest.fixture(scope="module", autouse=True)
def _report_inputs(request):
    yield
    tried = INPUTS_TRIED
    line = (
        f"fuzz: {tried['routes']} routes x {EXAMPLES_PER_URL} examples = {tried['examples']} examples,"
        f" {tried['count']} hostile requests (GET + POST each), {tried['reached_views']} reached the views"
    )
    # Straight to the terminal: output of a fixture's teardown is captured otherwise.
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is None:  # capturing off (-p no:capture)
        sys.stderr.write(f"\n{line}\n")
        return
    with capture.global_and_fixture_disabled():
        sys.stderr.write(f"\n{line}\n")
        sys.stderr.flush()


ROUTES = public_routes()


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name", "arguments"), ROUTES, ids=[name for _, name, _ in ROUTES])
def test_fuzz_public_url_never_fails(route, name, arguments, objects, client, no_rate_limits):
    """Random and malformed query strings and form bodies never give a 5xx nor live markup."""
    url = reverse(name, kwargs={arg: argument_value(route, name, arg, objects) for arg in arguments})
    client.raise_request_exception = False

    @hypothesis_settings(
        max_examples=EXAMPLES_PER_URL,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(data=st.one_of(pairs, raw_queries), form=pairs)
    def check(data, form):
        counts["examples"] += 1
        for response in (
            client.get(f"{url}?{query_string(data)}"),
            client.post(url, {_encodable(k): _encodable(v) for k, v in form}),
        ):
            counts["requests"] += 1
            assert_inert(response)
            counts["reached_views"] += response.status_code != HTTPStatus.TOO_MANY_REQUESTS

    counts = {"examples": 0, "requests": 0, "reached_views": 0}
    check()
    INPUTS_TRIED["routes"] += 1
    INPUTS_TRIED["examples"] += counts["examples"]
    INPUTS_TRIED["count"] += counts["requests"]
    INPUTS_TRIED["reached_views"] += counts["reached_views"]
    assert counts["examples"] >= EXAMPLES_PER_URL  # hypothesis really ran every example
    assert counts["reached_views"] == counts["requests"] == 2 * counts["examples"]  # no rate limit hid a view


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name", "arguments"), ROUTES, ids=[name for _, name, _ in ROUTES])
def test_nul_in_each_parameter_never_fails(route, name, arguments, objects, client, no_rate_limits):
    """Every parameter a view reads, alone, with a NUL in it (PostgreSQL refuses NUL in text): no 5xx.

    Deterministic, unlike the random examples above, which found one such case only now and then.
    """
    url = reverse(name, kwargs={arg: argument_value(route, name, arg, objects) for arg in arguments})
    client.raise_request_exception = False
    for key in KNOWN_KEYS:
        assert_inert(client.get(url, {key: "a\x00b"}))
        assert_inert(client.post(url, {key: "a\x00b"}))


def test_public_routes_found():
    """The route walk finds the main public pages (so the fuzz test covers them)."""
    names = {name for _, name, _ in ROUTES}
    assert {"home", "publications:index", "publications:detail", "newsletter:index"} <= names
    assert not any(name.startswith("admin:") for name in names)
