"""The page and value caches: fast when nothing changed, never stale when something did."""

from __future__ import annotations

import datetime as dt
import json
from http import HTTPStatus

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from center import caching
from publications.models import Publication
from tests.factories import AuthorFactory, PublicationFactory, ThemeFactory

pytestmark = pytest.mark.django_db


def total_line(response) -> str:
    return response.content.decode().split('class="total-index">')[1].split("<")[0]


def test_page_second_request_is_a_hit(client):
    """The second anonymous request for a page is answered from the cache."""
    PublicationFactory()
    first = client.get(reverse("home"))
    second = client.get(reverse("home"))
    assert first["X-Cache"] == "miss"
    assert second["X-Cache"] == "hit"
    assert second.content == first.content


def test_the_cookie_policy_is_cached_too(client, django_assert_num_queries):
    """The cookie policy, a fixed text in the site's frame, is a public page like the others."""
    ThemeFactory(name="Energy")
    first = client.get(reverse("cookies"))
    with django_assert_num_queries(0):
        second = client.get(reverse("cookies"))
    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    assert second.content == first.content and b">Energy</label>" in second.content
    ThemeFactory(name="Water")  # the footer's topics are content: a change shows at once
    assert b">Water</label>" in client.get(reverse("cookies")).content


def test_page_hit_runs_no_queries(client, django_assert_num_queries):
    """A cached page costs no SQL at all."""
    PublicationFactory.create_batch(3)
    client.get(reverse("publications:index"))
    with django_assert_num_queries(0):
        response = client.get(reverse("publications:index"))
    assert response["X-Cache"] == "hit"


def test_page_cache_off_when_seconds_zero(client, settings):
    """PAGE_CACHE_SECONDS=0 turns the page cache off."""
    settings.PAGE_CACHE_SECONDS = 0
    client.get(reverse("home"))
    assert "X-Cache" not in client.get(reverse("home"))


def test_page_not_cached_for_staff(staff_client):
    """Staff (with a session) always get a fresh page."""
    staff_client.get(reverse("home"))
    assert "X-Cache" not in staff_client.get(reverse("home"))


def test_page_not_cached_with_other_cookies(client):
    """A visitor with personal state (any cookie but CSRF's) is never served a shared page."""
    client.get(reverse("home"))
    client.cookies["visitor"] = "abc"
    assert "X-Cache" not in client.get(reverse("home"))


def test_page_served_from_cache_with_csrf_cookie(client, settings):
    """The CSRF cookie alone does not make a visitor personal."""
    client.get(reverse("home"))
    client.cookies[settings.CSRF_COOKIE_NAME] = "x" * 32
    assert client.get(reverse("home"))["X-Cache"] == "hit"


def test_page_not_cached_for_post(client):
    """Only GET and HEAD are cached."""
    response = client.post(reverse("home"))
    assert "X-Cache" not in response


def test_page_not_cached_when_response_sets_cookie(client, rf):
    """A response that sets a cookie (a CSRF token, a session) is never stored."""
    from django.http import HttpResponse

    request = rf.get("/")
    response = HttpResponse("ok")
    response.set_cookie("csrftoken", "secret")
    assert not caching.PublicPageCacheMiddleware._cacheable_response(response)
    assert caching.PublicPageCacheMiddleware._cacheable_response(HttpResponse("ok"))
    assert request.method == "GET"


def test_page_not_cached_when_private(client):
    """Responses marked private or no-store are never stored."""
    from django.http import HttpResponse

    response = HttpResponse("ok")
    response["Cache-Control"] = "private"
    assert not caching.PublicPageCacheMiddleware._cacheable_response(response)


def test_page_not_cached_for_other_views(client):
    """Views not listed in PAGE_CACHE_VIEWS (health check, admin) are never cached."""
    client.get(reverse("healthz"))
    assert "X-Cache" not in client.get(reverse("healthz"))


def test_page_key_respects_query_string(client):
    """Each query string is its own page."""
    PublicationFactory.create_batch(25)
    first = client.get(reverse("publications:index"))
    second = client.get(reverse("publications:index") + "?page=2")
    assert second["X-Cache"] == "miss"
    assert first.content != second.content


def test_page_key_varies_on_htmx(client):
    """An htmx request and a full-page request are cached apart."""
    client.get(reverse("home"))
    response = client.get(reverse("home"), headers={"HX-Request": "true"})
    assert response["X-Cache"] == "miss"


def test_page_has_etag_and_answers_304(client):
    """Cached pages carry an ETag; revalidating with it returns 304 Not Modified."""
    PublicationFactory()
    etag = client.get(reverse("home"))["ETag"]
    response = client.get(reverse("home"), headers={"If-None-Match": etag})
    assert response.status_code == HTTPStatus.NOT_MODIFIED


def test_etag_changes_with_content(client):
    """After a change the old ETag no longer matches."""
    etag = client.get(reverse("home"))["ETag"]
    PublicationFactory()
    response = client.get(reverse("home"), headers={"If-None-Match": etag})
    assert response.status_code == HTTPStatus.OK


def test_publishing_shows_on_home_at_once(client):
    """Publishing a new publication updates the home page's total immediately."""
    PublicationFactory.create_batch(2)
    assert "2" in total_line(client.get(reverse("home")))
    PublicationFactory(title="A New Report on Arctic Shipping")
    response = client.get(reverse("home"))
    assert "3" in total_line(response)
    assert "A New Report on Arctic Shipping" in response.content.decode()


def test_publishing_a_draft_shows_in_index_at_once(client):
    """A draft switched to published appears in the cached index immediately."""
    draft = PublicationFactory(title="Water Politics in the Nile Basin", status=Publication.Status.DRAFT)
    assert "Water Politics" not in client.get(reverse("publications:index")).content.decode()
    draft.status = Publication.Status.PUBLISHED
    draft.save()
    assert "Water Politics" in client.get(reverse("publications:index")).content.decode()


def test_editing_shows_on_publication_page_at_once(client):
    """A new title shows on the cached publication page immediately."""
    publication = PublicationFactory(title="Old Title on Grain Exports")
    client.get(publication.get_absolute_url())
    publication.title = "New Title on Grain Exports"
    publication.save()
    assert "New Title on Grain Exports" in client.get(publication.get_absolute_url()).content.decode()


def test_unpublishing_removes_page_at_once(client):
    """An unpublished publication's cached page is gone immediately (404) and leaves the index."""
    publication = PublicationFactory(title="Sanctions and Secondary Markets")
    assert client.get(publication.get_absolute_url()).status_code == HTTPStatus.OK
    client.get(reverse("publications:index"))
    publication.status = Publication.Status.DRAFT
    publication.save()
    assert client.get(publication.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND
    assert "Sanctions and Secondary" not in client.get(reverse("publications:index")).content.decode()


def test_bulk_unpublish_with_update_shows_at_once(client):
    """Queryset updates (admin bulk actions) send no signals but still invalidate."""
    PublicationFactory.create_batch(3)
    assert "3" in total_line(client.get(reverse("home")))
    Publication.objects.all().update(status=Publication.Status.DRAFT)
    assert "0" in total_line(client.get(reverse("home")))


def test_deleting_shows_at_once(client):
    """A deleted publication leaves the home count immediately."""
    keep, gone = PublicationFactory.create_batch(2)
    client.get(reverse("home"))
    gone.delete()
    assert "1" in total_line(client.get(reverse("home")))
    assert keep.pk


def test_author_rename_shows_on_author_page_at_once(client):
    """Renaming an author updates their cached page immediately."""
    author = AuthorFactory(given_name="Irina", family_name="Volkova")
    PublicationFactory(authors=[author])
    assert "Irina Volkova" in client.get(author.get_absolute_url()).content.decode()
    author.family_name = "Sokolova"
    author.save()
    assert "Irina Sokolova" in client.get(author.get_absolute_url()).content.decode()


def test_author_rename_shows_on_publication_page_at_once(client):
    """Renaming an author updates the byline of their cached publication pages immediately."""
    author = AuthorFactory(given_name="Irina", family_name="Volkova")
    publication = PublicationFactory(authors=[author])
    assert "Irina Volkova" in client.get(publication.get_absolute_url()).content.decode()
    author.family_name = "Sokolova"
    author.save()
    content = client.get(publication.get_absolute_url()).content.decode()
    assert "Irina Sokolova" in content
    assert "Irina Volkova" not in content


def test_theme_change_shows_on_theme_page_at_once(client):
    """Adding a publication to a theme (m2m) shows on the theme page immediately."""
    theme = ThemeFactory()
    publication = PublicationFactory(title="Fisheries Governance in the Baltic")
    assert "Fisheries Governance" not in client.get(theme.get_absolute_url()).content.decode()
    publication.themes.add(theme)
    assert "Fisheries Governance" in client.get(theme.get_absolute_url()).content.decode()


MACHINE_READABLE = {
    "rss": reverse("publications:feed-rss"),
    "atom": reverse("publications:feed-atom"),
    "oai": f"{reverse('oai')}?verb=ListRecords&metadataPrefix=oai_dc",
}


@pytest.mark.parametrize("url", MACHINE_READABLE.values(), ids=MACHINE_READABLE.keys())
def test_renames_show_in_feeds_and_oai_at_once(client, url):
    """Feeds and OAI records, cached whole and item by item, follow author and theme renames at once."""
    author = AuthorFactory(given_name="Irina", family_name="Volkova")
    theme = ThemeFactory(name="Energy")
    PublicationFactory(authors=[author], themes=[theme])
    before = client.get(url).content.decode()
    assert "Volkova" in before and "Energy" in before
    assert client.get(url)["X-Cache"] == "hit"
    author.family_name = "Sokolova"
    author.save()
    theme.name = "Hydrocarbons"
    theme.save()
    after = client.get(url).content.decode()
    assert "Sokolova" in after and "Volkova" not in after
    assert "Hydrocarbons" in after and "Energy" not in after


@pytest.fixture
def long_page_cache(settings):
    """Pages live a day, so that only invalidation (not expiry) can refresh them."""
    settings.PAGE_CACHE_SECONDS = 86400


@pytest.mark.usefixtures("long_page_cache")
def test_scheduled_item_appears_when_due(client):
    """A scheduled publication appears on cached pages the moment it is due, with no job running."""
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        PublicationFactory()
        PublicationFactory(title="Scheduled Brief on Lithium", published_at=now + dt.timedelta(hours=2))
        assert "1" in total_line(client.get(reverse("home")))
        assert "Scheduled Brief" not in client.get(reverse("publications:index")).content.decode()
        assert client.get(reverse("home"))["X-Cache"] == "hit"
    with time_machine.travel(now + dt.timedelta(hours=2, seconds=1), tick=False):
        assert "2" in total_line(client.get(reverse("home")))
        assert "Scheduled Brief" in client.get(reverse("publications:index")).content.decode()


def test_scheduled_item_still_hidden_before_due(client):
    """Before its moment a scheduled publication stays off the cached pages."""
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        PublicationFactory(title="Scheduled Brief on Cobalt", published_at=now + dt.timedelta(hours=2))
        client.get(reverse("publications:index"))
    with time_machine.travel(now + dt.timedelta(hours=1), tick=False):
        assert "Scheduled Brief" not in client.get(reverse("publications:index")).content.decode()


@pytest.mark.usefixtures("long_page_cache")
def test_second_schedule_earlier_than_first_is_honoured(client):
    """Scheduling an item before the earliest already-scheduled one still shows it on time."""
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        PublicationFactory(title="Late Brief", published_at=now + dt.timedelta(days=2))
        client.get(reverse("publications:index"))
        PublicationFactory(title="Early Brief", published_at=now + dt.timedelta(hours=1))
        client.get(reverse("publications:index"))
    with time_machine.travel(now + dt.timedelta(hours=1, seconds=1), tick=False):
        content = client.get(reverse("publications:index")).content.decode()
    assert "Early Brief" in content
    assert "Late Brief" not in content


def test_cached_value_computed_once_per_version(django_assert_num_queries):
    """cached() runs its function once until content changes."""
    calls = []
    caching.cached("demo", lambda: calls.append(1) or len(calls))
    assert caching.cached("demo", lambda: calls.append(1) or len(calls)) == 1
    PublicationFactory()
    assert caching.cached("demo", lambda: calls.append(1) or len(calls)) == 2


def test_published_count_follows_changes():
    """The maintained total follows publishing and unpublishing."""
    publication = PublicationFactory()
    assert caching.published_count() == 1
    publication.status = Publication.Status.DRAFT
    publication.save()
    assert caching.published_count() == 0


def test_published_count_with_the_value_cache_off_counts_once_per_version(
    settings, django_assert_num_queries
):
    """With nothing cached (VALUE_CACHE_SECONDS=0) the total comes from the facet index, built
    once per version: a second home page runs no COUNT, and a change still shows at once."""
    settings.VALUE_CACHE_SECONDS = 0
    publication = PublicationFactory()
    PublicationFactory()
    assert caching.published_count() == 2
    with django_assert_num_queries(0):
        assert caching.published_count() == 2
    publication.status = Publication.Status.DRAFT
    publication.save()
    assert caching.published_count() == 1


def test_file_state_is_shared_between_processes(tmp_path):
    """With a per-process cache the version lives in a file every worker reads."""
    one = caching._FileStateStore(tmp_path / "state.json")
    other = caching._FileStateStore(tmp_path / "state.json")
    one.write({"token": "a", "next_due": None})
    assert other.read() == {"token": "a", "next_due": None}
    one.write({"token": "b", "next_due": 5.0})
    assert other.read()["token"] == "b"
    assert json.loads((tmp_path / "state.json").read_text())["next_due"] == 5.0


def test_version_changes_on_commit(django_capture_on_commit_callbacks):
    """After the transaction commits the version changes once more (pages rendered mid-transaction die)."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        PublicationFactory()
        during = caching.content_version()
    # Other apps (the search index) may register their own callbacks too.
    callbacks = [callback for callback in callbacks if callback.__module__ == "center.caching"]
    assert len(callbacks) == 1
    callbacks[0]()
    assert caching.content_version() != during


def test_index_count_not_recomputed_per_request(client, settings, django_assert_num_queries):
    """With the page cache off, the index's COUNT(*) still runs once per content version."""
    settings.PAGE_CACHE_SECONDS = 0
    PublicationFactory.create_batch(3)
    client.get(reverse("publications:index"))
    with django_assert_num_queries(0) as context:  # the page's ids, count and cards all come from the cache
        client.get(reverse("publications:index"))
    assert not any("COUNT(" in query["sql"] for query in context.captured_queries)


def test_index_count_follows_publishing(client, settings):
    """The cached count of a listing changes as soon as content does."""
    settings.PAGE_CACHE_SECONDS = 0
    PublicationFactory.create_batch(20)
    assert client.get(reverse("publications:index")).context["paginator"].count == 20
    PublicationFactory()
    assert client.get(reverse("publications:index")).context["paginator"].count == 21


def test_index_count_differs_per_filter(client, settings):
    """Each filtered listing has its own cached count."""
    settings.PAGE_CACHE_SECONDS = 0
    theme = ThemeFactory()
    PublicationFactory.create_batch(2, themes=[theme])
    PublicationFactory.create_batch(3)
    assert client.get(reverse("publications:index")).context["paginator"].count == 5
    assert client.get(theme.get_absolute_url()).context["paginator"].count == 2


def test_index_page_beyond_depth_limit_is_refused(client, settings):
    """Pages past MAX_INDEX_PAGES get a clear 404, not a slow deep OFFSET."""
    settings.MAX_INDEX_PAGES = 2
    PublicationFactory.create_batch(61)
    assert client.get(reverse("publications:index") + "?page=2").status_code == HTTPStatus.OK
    assert client.get(reverse("publications:index") + "?page=3").status_code == HTTPStatus.NOT_FOUND


def test_about_now_recognises_sqlite_strings():
    """The "now" of published() is recognised as a datetime or as SQLite's string of one."""
    now = timezone.now()
    assert caching._is_about_now(now, now)
    assert caching._is_about_now(now.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" "), now)
    assert not caching._is_about_now(now - dt.timedelta(days=3), now)
    assert not caching._is_about_now("2024-energy", now)


def test_content_version_read_once_per_request(client, settings, monkeypatch):
    """A page asks for the version for each cached value and fragment; it is read once per request."""
    settings.PAGE_CACHE_SECONDS = 0
    PublicationFactory.create_batch(3)
    store = caching._state_store()
    reads = []
    real_read = store.read
    monkeypatch.setattr(store, "read", lambda: reads.append(1) or real_read())
    client.get(reverse("publications:index"))
    assert len(reads) == 1
    client.get(reverse("home"))
    assert len(reads) == 2


def test_content_version_memo_follows_a_change_within_the_request():
    """A request that changes content sees the new version at once (and so caches nothing under the old)."""
    token = caching._request_memo.set({})
    try:
        before = caching.content_version()
        assert caching.content_version() == before
        PublicationFactory()
        assert caching.content_version() != before
    finally:
        caching._request_memo.reset(token)


# Lists by id, subjects by slug (page cache off) ----------------------------------


@pytest.fixture
def listed(settings):
    """A theme with an author's two publications, the page cache off: only the value cache serves."""
    settings.PAGE_CACHE_SECONDS = 0
    theme, author = ThemeFactory(name="Energy"), AuthorFactory(given_name="Ines", family_name="Duarte")
    first = PublicationFactory(title="First paper", themes=[theme], authors=[author])
    second = PublicationFactory(title="Second paper", themes=[theme], authors=[author])
    return theme, author, [first, second]


def listing_urls(theme, author) -> list[str]:
    pages = [reverse("home"), reverse("publications:index")]
    return [*pages, theme.get_absolute_url(), author.get_absolute_url()]


def test_lists_and_subjects_cost_no_query_once_read(client, listed, django_assert_num_queries):
    """The home lists, an index page, a theme and an author page: their ids, totals, subject and cards
    are read once per content version."""
    theme, author, _ = listed
    for url in listing_urls(theme, author):
        first = client.get(url)
        with django_assert_num_queries(0):
            second = client.get(url)
        assert second.content.decode().count("First paper") == first.content.decode().count("First paper") > 0


def test_lists_and_subjects_show_each_change_at_once(client, listed):
    theme, author, (_, second) = listed
    urls = listing_urls(theme, author)
    for url in urls:
        client.get(url)
    third = PublicationFactory(title="Third paper", themes=[theme], authors=[author])
    for url in urls:
        assert "Third paper" in client.get(url).content.decode(), url
    Publication.objects.filter(pk=second.pk).update(status=Publication.Status.DRAFT)
    caching.bulk_content_changed()
    for url in urls:
        assert "Second paper" not in client.get(url).content.decode(), url
    theme.name = "Energy transitions"
    theme.save()
    assert "Energy transitions" in client.get(theme.get_absolute_url()).content.decode()
    author.family_name = "Duarte-Silva"
    author.save()
    assert "Duarte-Silva" in client.get(author.get_absolute_url()).content.decode()
    slug = theme.get_absolute_url()
    theme.delete()
    assert client.get(slug).status_code == HTTPStatus.NOT_FOUND
    assert third.title in client.get(reverse("publications:index")).content.decode()


def test_an_unknown_slug_is_a_404_every_time(client, listed, settings):
    for _ in range(2):
        assert client.get("/themes/no-such-theme/").status_code == HTTPStatus.NOT_FOUND
        assert client.get("/authors/no-such-author/").status_code == HTTPStatus.NOT_FOUND


def test_a_page_of_ids_reads_its_publications_in_order_when_iterated(client, listed):
    _, author, (first, second) = listed
    response = client.get(author.get_absolute_url())
    page = response.context["publications"]
    assert isinstance(page, caching.PageOfIds)
    assert [publication.pk for publication in page] == page.ids == [second.pk, first.pk]
