"""Site-wide views: home page, search and health check."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.cache import never_cache

from center import caching, ratelimit
from publications import search as engine
from publications.cards import render_card_lists, render_hits
from publications.models import Publication, Region, Theme

logger = logging.getLogger(__name__)


def home(request):
    """The front page: total count, featured, latest, blog posts, themes and regions.

    The same handful of queries however large the index is, and none once the
    lists' ids are cached for the content version; the cards come from the card
    cache (``publications.cards``), which fetches the authors, themes and regions
    of the cards it must render.
    """
    published = Publication.objects.published().defer("body", "pdf_text")
    lists = {
        "featured": published.filter(featured=True)[:3],
        "latest": published.exclude(kind=Publication.Kind.BLOG_POST).exclude(featured=True)[:6],
        "blog_posts": published.filter(kind=Publication.Kind.BLOG_POST)[:4],
    }

    def read_ids() -> dict[str, list[int]]:
        return {name: list(items.values_list("pk", flat=True)) for name, items in lists.items()}

    # Which publications each list shows: read once per content version.
    ids = caching.cached("home:lists", read_ids)
    featured, latest, blog_posts = (caching.PageOfIds(published, ids[name]) for name in lists)
    featured_cards, latest_cards, blog_cards = render_card_lists(
        [(featured, 3, False), (latest, 3, False), (blog_posts, 3, True)]
    )
    context = {
        "total_count": caching.published_count(),
        "featured": featured,
        "latest": latest,
        "blog_posts": blog_posts,
        "featured_cards": featured_cards,
        "latest_cards": latest_cards,
        "blog_cards": blog_cards,
        "themes": Theme.objects.only("name", "slug"),
        "regions": Region.objects.only("name", "slug"),
    }
    return render(request, "home.html", context)


def cookies(request):
    """Which cookies the site sets, and why."""
    return render(request, "cookies.html")


SEARCH_PAGE_SIZE = 20
SORTS = {"relevance": "Relevance", "date": "Newest first"}


def search(request):
    """Search all site content: ranked publications with facets, plus matching authors, themes, regions."""
    if not ratelimit.hit(
        "search",
        ratelimit.client_ip(request),
        limit=settings.SEARCH_RATE_LIMIT,
        window=settings.SEARCH_RATE_WINDOW,
    ):
        response = render(
            request, "search_rate_limited.html", {"retry_after": settings.SEARCH_RATE_WINDOW}, status=429
        )
        response["Retry-After"] = str(settings.SEARCH_RATE_WINDOW)
        return response

    query = request.GET.get("q", "").strip()
    parsed = engine.parse_query(query)
    filters = engine.Filters.from_params(request.GET)
    sort = request.GET.get("sort", "relevance")
    result = engine.search(parsed, filters=filters, sort=sort)
    page = Paginator(result, SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))
    authors, themes, regions = (
        engine.matching_people_and_subjects(parsed) if parsed and page.number == 1 else ([], [], [])
    )
    context = {
        "query": query[: engine.MAX_QUERY_CHARS],
        "query_truncated": len(query) > engine.MAX_QUERY_CHARS,
        "searched": bool(parsed),
        "result": result,
        "page_obj": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "publications": page.object_list,
        "hit_cards": render_hits(page.object_list),
        # The facets' links are made only when the facets' fragment is rendered (once per query string).
        "facets": LinkedFacets(request, result.facets),
        "facets_key": _without_page(request.GET).urlencode(),
        "filters": filters.as_dict(),
        "sort": result.sort,
        "sorts": SORTS,
        "matching_authors": authors,
        "matching_themes": themes,
        "matching_regions": regions,
        "max_results": engine.MAX_RESULTS,
    }
    return render(request, "search.html", context)


def _without_page(params):
    params = params.copy()
    params.pop("page", None)
    return params


class LinkedFacets:
    """A search's facets, each value given the query string that selects it (or, when selected,
    removes it) when they are first read."""

    def __init__(self, request, facets: dict):
        self.request, self.facets, self.linked = request, facets, False

    def items(self):
        if not self.linked:
            base = _without_page(self.request.GET)
            for name, values in self.facets.items():
                for value in values:
                    params = base.copy()
                    if value.selected:
                        params.pop(name, None)
                    else:
                        params[name] = value.key
                    value.url = params.urlencode()
            self.linked = True
        return self.facets.items()


@never_cache
def healthz(request):
    """For load balancers and monitoring: the state of the database, the cache and the task queue.

    Answers 200 while the site can serve pages and 503 when the database or the
    cache fails. Each part is "ok" or "error" (the reason goes to the log, never
    to the response); the task queue also reports how many tasks wait and how
    many are overdue (waiting more than ``HEALTH_TASKS_OVERDUE_SECONDS``): a
    growing number means no worker runs.
    """
    checks = {"database": _check_database(), "cache": _check_cache()}
    tasks = _check_tasks() if checks["database"] == "ok" else {"state": "error"}
    healthy = all(state == "ok" for state in checks.values())
    body = {
        "status": "ok" if healthy and tasks["state"] == "ok" else ("degraded" if healthy else "error"),
        **checks,
        "tasks": tasks,
    }
    return JsonResponse(body, status=200 if healthy else 503)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any failure means unhealthy; details stay in the logs
        logger.exception("Health check: the database failed")
        return "error"
    return "ok"


def _check_cache() -> str:
    key = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception:  # any failure means unhealthy; details stay in the logs
        logger.exception("Health check: the cache failed")
        return "error"
    return "ok" if ok else "error"


def _check_tasks() -> dict:
    """Waiting and overdue tasks of the database queue (two cheap counts on an indexed column)."""
    backend = settings.TASKS["default"]["BACKEND"]
    if not backend.startswith("django_tasks_db."):
        return {"state": "ok"}  # tasks run in the request (immediate backend): nothing can pile up
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    overdue_since = timezone.now() - dt.timedelta(seconds=settings.HEALTH_TASKS_OVERDUE_SECONDS)
    from django_tasks_db.models import get_date_max

    # A task enqueued to run at once carries the "no date" run_after (year 9999): it is due since
    # it was enqueued. A deferred one is due from its run_after.
    at_once = Q(run_after=get_date_max(), enqueued_at__lt=overdue_since)
    try:
        ready = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
        waiting = ready.count()
        overdue = ready.filter(at_once | Q(run_after__lt=overdue_since)).count() if waiting else 0
    except Exception:  # e.g. the table is missing; details stay in the logs
        logger.exception("Health check: the task queue failed")
        return {"state": "error"}
    return {"state": "backlog" if overdue else "ok", "waiting": waiting, "overdue": overdue}


def bench_ping(request):
    """A constant answer through the whole middleware stack: the benchmark's ceiling (BENCH_PING=1)."""
    return HttpResponse(b"pong", content_type="text/plain")


def server_error(request):
    """The 500 page: no traceback, no settings, just an apology and the request id to quote.

    Rendered without the request's context processors (the database or the
    cache may be what failed), and falling back to plain text if even the
    template fails.
    """
    request_id = getattr(request, "request_id", "")
    try:
        content = loader.get_template("500.html").render(
            {"request_id": request_id, "SITE_NAME": settings.SITE_NAME}
        )
    except Exception:  # the error page must not fail in turn
        logger.exception("The 500 template failed")
        content = f"Server error. Request id: {escape(request_id)}"
        return HttpResponseServerError(content, content_type="text/plain; charset=utf-8")
    return HttpResponseServerError(content)
