"""Citation downloads (BibTeX, RIS, CSL-JSON) of one publication, the index and search results.

Kept apart from ``views.py`` so the index's own views stay small. The list
downloads reuse the index view's and the search's filtering: the index export
*is* the index view with another renderer, so whatever filters the index
applies (``?theme=…&year=…``) apply to the download too.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.views.generic import DetailView, View

from center import ratelimit
from publications import search
from publications.exports import EXPORT_FORMATS, EXPORT_LIMIT, export, for_export
from publications.models import Publication
from publications.views import PublicationListView, PublicationVisibilityMixin


def _download(request, publications, fmt: str, filename: str) -> HttpResponse:
    export_format = EXPORT_FORMATS[fmt]
    base_url = request.build_absolute_uri("/").rstrip("/")
    response = HttpResponse(
        export(publications, fmt, base_url=base_url), content_type=export_format.content_type
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.{export_format.extension}"'
    return response


def _too_many(request) -> HttpResponse | None:
    """A 429 answer once the visitor exceeds the download rate limit."""
    allowed = ratelimit.hit(
        "export",
        ratelimit.client_ip(request),
        limit=settings.EXPORT_RATE_LIMIT,
        window=settings.EXPORT_RATE_WINDOW,
    )
    if allowed:
        return None
    response = HttpResponse(
        "Too many downloads in a short time. Please wait a minute and try again.\n",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(settings.EXPORT_RATE_WINDOW)
    return response


class _ExportFormatMixin:
    def dispatch(self, request, *args, **kwargs):
        if kwargs.get("fmt") not in EXPORT_FORMATS:
            raise Http404("Unknown export format.")
        return _too_many(request) or super().dispatch(request, *args, **kwargs)


class PublicationExportView(_ExportFormatMixin, PublicationVisibilityMixin, DetailView):
    """One publication's citation as a file."""

    def get_queryset(self):
        return for_export(super().get_queryset())

    def render_to_response(self, context, **response_kwargs):
        return _download(self.request, [self.object], self.kwargs["fmt"], self.object.slug)


class PublicationIndexExportView(_ExportFormatMixin, PublicationListView):
    """The index as filtered by the query string, as one file (at most ``EXPORT_LIMIT`` items)."""

    paginate_by = None

    def get(self, request, *args, **kwargs):
        publications = for_export(self.get_queryset())[:EXPORT_LIMIT]
        filename = f"publications-{timezone.localdate():%Y-%m-%d}"
        return _download(request, publications, self.kwargs["fmt"], filename)


class SearchExportView(_ExportFormatMixin, View):
    """Search results for ``?q=`` (with the search page's kind, theme, region, year and sort) as one file.

    The very list the search page pages through (``search.search`` with the
    same query, ``Filters`` and ``sort``), in its order: at most
    ``EXPORT_LIMIT`` items, and never more than the page can reach.
    """

    def query(self) -> str:
        # Control characters (NUL above all: PostgreSQL refuses it) are never part of a search.
        text = "".join(char for char in self.request.GET.get("q", "") if char.isprintable())
        return text.strip()[: search.MAX_QUERY_CHARS]

    def publications(self) -> list[Publication]:
        result = search.search(
            self.query(),
            filters=search.Filters.from_params(self.request.GET),
            sort=self.request.GET.get("sort", "relevance"),
        )
        ids = result.ids(limit=EXPORT_LIMIT)
        found = for_export(Publication.objects.published().filter(pk__in=ids)).in_bulk()
        return [found[pk] for pk in ids if pk in found]

    def get(self, request, *args, **kwargs):
        query = slugify(self.query())[:40] or "all"
        return _download(request, self.publications(), self.kwargs["fmt"], f"search-{query}")
