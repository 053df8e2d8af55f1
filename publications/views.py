"""Public pages of publications, themes, regions and tags.

Thin views: the filter set (``publications/filters.py``) parses the query
string, ``Publication.objects.published()`` decides what the public sees, and
htmx requests from the index's filter form get just the results fragment
(``{% partialdef results %}``) while every other request gets the whole page.
"""

from __future__ import annotations

import secrets
from http import HTTPStatus

from csp.constants import SELF
from csp.decorators import csp_replace
from django.conf import settings
from django.core.paginator import EmptyPage, InvalidPage
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_vary_headers
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.generic import DetailView, ListView, View
from taggit.models import Tag

from center import caching, ratelimit
from center.caching import CachedCountPaginator
from publications import facet_index, reactions
from publications.body import render_body
from publications.filters import PublicationFilter, facet_counts, facets_for_display, in_index_order
from publications.models import Publication, Reaction, Region, Theme
from publications.related import prefetch_detail

VISITOR_COOKIE = "visitor"
VISITOR_SALT = "publications.reactions"
RESULTS_TARGET = "index-results"


def is_htmx(request, target: str) -> bool:
    """An htmx request aimed at ``target`` (a history restore asks for the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Target") == target
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


class PublicationVisibilityMixin:
    """The one switch between preview and public: staff see every status, the public only published()."""

    def get_queryset(self):
        publications = Publication.objects.all()
        if not self.request.user.is_staff:
            publications = publications.published()
        return publications


def cached_by_slug(queryset, slug: str):
    """The object of ``queryset`` with this slug, read once per content version; 404 when none."""
    name = f"by-slug:{queryset.model._meta.label}:{slug}"
    found = caching.cached(name, lambda: queryset.filter(slug=slug).first() or False)
    if found is False:
        raise Http404(f"No {queryset.model._meta.verbose_name} is called {slug!r}.")
    return found


class GracefulPaginationMixin:
    """Numbered pages; a bad or too-large ``?page=`` shows the nearest page with a notice, never a 404/500."""

    paginate_by = 20
    paginator_class = CachedCountPaginator
    page_notice = ""

    def list_name(self) -> str | None:
        """What the list is, when the view can tell without SQL: its total and page ids are then
        cached under it (``CachedCountPaginator``)."""
        return None

    def ordered_ids(self):
        """The list's ids in its order, when they can be had from memory (``CachedCountPaginator``)."""
        return None

    def get_paginator(self, queryset, per_page, **kwargs):
        return super().get_paginator(
            queryset, per_page, list_name=self.list_name(), ordered_ids=self.ordered_ids, **kwargs
        )

    def paginate_queryset(self, queryset, page_size):
        paginator = self.get_paginator(queryset, page_size)
        raw = self.request.GET.get("page", "") or "1"
        try:
            number = int(raw)
        except ValueError:
            number = 1
            self.page_notice = "That page number is not a number; here is the first page."
        try:
            page = paginator.page(number)
        except EmptyPage:
            last = paginator.num_pages
            if paginator.max_pages:
                last = min(last, paginator.max_pages)
            page = paginator.page(max(1, min(number, last)))
            self.page_notice = f"There is no page {number}; here is page {page.number} of {last}."
        except InvalidPage as error:  # beyond the depth limit: a clear 404 (see CachedCountPaginator)
            raise Http404(str(error)) from None
        return paginator, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = context.get("page_obj")
        if page is not None:
            context["page_range"] = page.paginator.get_elided_page_range(
                page.number, on_each_side=2, on_ends=1
            )
        context["page_notice"] = self.page_notice
        return context


class PublicationListView(GracefulPaginationMixin, ListView):
    """``/publications/``: the filtered, sorted, paginated index."""

    template_name = "publications/publication_list.html"
    context_object_name = "publications"
    subject = None
    subject_kind = ""
    subject_lookup = ""

    def base_queryset(self):
        return Publication.objects.published()

    def get_queryset(self):
        self.filterset = PublicationFilter(self.request.GET or None, queryset=self.base_queryset())
        return self.filterset.qs

    def paginate_queryset(self, queryset, page_size):
        return super().paginate_queryset(queryset.for_listing(), page_size)

    def filters_key(self) -> str:
        """The valid filter values and the sort: with the path, all that decides the list and the
        filters sidebar."""
        sort = getattr(self.filterset.form, "cleaned_data", {}).get("sort") or ""
        return repr((sorted((name, repr(value)) for name, value in self.filterset.active.items()), sort))

    def list_name(self) -> str:
        return f"{self.request.path}|{self.filters_key()}"

    def ordered_ids(self):
        return in_index_order(self.filterset, subject=self.subject, lookup=self.subject_lookup)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        active = self.filterset.active
        counts = facet_counts(self.filterset, subject=self.subject, lookup=self.subject_lookup)
        facets = facets_for_display(counts, active)
        form = self.filterset.form
        context.update(
            # What the filters sidebar shows depends on nothing else (its fragment cache key).
            filters_key=self.filters_key(),
            filter=self.filterset,
            form=form,
            errors=[error for errors in self.filterset.form.errors.values() for error in errors],
            active=active,
            facets=facets,
            chips=filter_chips(self.request, self.filterset, active, facets),
            subject=self.subject,
            subject_kind=self.subject_kind,
            results_target=RESULTS_TARGET,
            form_action=self.request.path,
        )
        return context

    def render_to_response(self, context, **kwargs):
        if is_htmx(self.request, RESULTS_TARGET):
            self.template_name = "publications/publication_list.html#results"
        response = super().render_to_response(context, **kwargs)
        patch_vary_headers(response, ["HX-Request", "HX-Target"])
        return response


def filter_chips(request, filterset, active: dict, facets: dict) -> list[dict]:
    """One removable chip per active filter value: its label and the URL without it."""
    labels = {(name, item["value"]): item["label"] for name, items in facets.items() for item in items}
    chips = []
    for name, value in active.items():
        for single in value if isinstance(value, list) else [value]:
            params = request.GET.copy()
            params.pop("page", None)
            if isinstance(value, list):
                params.setlist(
                    name, [item for item in params.getlist(name) if item.strip().lower() != single]
                )
            else:
                params.pop(name, None)
            shown = single
            if name.startswith("year"):
                shown = str(int(single))
            chips.append(
                {
                    "name": filterset.filters[name].label,
                    "label": labels.get((name, str(single)), shown),
                    "url": f"?{params.urlencode()}" if params else request.path,
                }
            )
    return chips


class _SubjectIndexView(PublicationListView):
    """The index under one theme, region or tag, with its description."""

    model = None
    lookup = ""

    def base_queryset(self):
        self.subject = cached_by_slug(self.model.objects.all(), self.kwargs["slug"])
        self.subject_lookup = self.lookup
        return Publication.objects.published().filter(**{self.lookup: self.subject})


class ThemeDetailView(_SubjectIndexView):
    model = Theme
    lookup = "themes"
    subject_kind = "Theme"


class RegionDetailView(_SubjectIndexView):
    model = Region
    lookup = "regions"
    subject_kind = "Region"


class TagDetailView(_SubjectIndexView):
    model = Tag
    lookup = "tags"
    subject_kind = "Tag"


class _VocabularyListView(ListView):
    """All themes or regions, each with its number of published publications."""

    context_object_name = "items"

    def get_queryset(self):
        visible = Publication.objects.published().values("pk")
        return self.model.objects.annotate(
            publication_count=Count("publications", filter=Q(publications__in=visible), distinct=True)
        )


class ThemeListView(_VocabularyListView):
    model = Theme
    template_name = "publications/theme_list.html"


class RegionListView(_VocabularyListView):
    model = Region
    template_name = "publications/region_list.html"


class PublicationDetailView(PublicationVisibilityMixin, DetailView):
    """``/publications/<slug>/``; drafts, items in review and scheduled items only for staff, as a preview."""

    template_name = "publications/publication_detail.html"
    context_object_name = "publication"
    related_count = 4

    def get_queryset(self):
        return super().get_queryset().defer("pdf_text")  # the PDF's text is for search, never shown

    def get_object(self, queryset=None):
        if self.request.user.is_staff:  # previews of every status: read afresh
            return super().get_object(queryset)
        # The public page's publication, read once per content version (the rest of the page is in
        # fragments): a page served from them runs no query.
        return cached_by_slug(self.get_queryset(), self.kwargs["slug"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        publication = self.object
        context.update(
            is_preview=not publication.is_public,
            page=PublicationPage(publication, related_count=self.related_count),
            **reaction_context(self.request, publication),
        )
        return context


class PublicationPage:
    """What the publication page shows besides the publication's own fields, read when first asked.

    The page's parts are cached per content version (``{% cachedfragment %}`` in
    ``publication_detail.html``), so on a hit none of this runs and the page
    costs one query; the template reads related data through ``page.publication``,
    which fetches it all on first use.
    """

    def __init__(self, publication: Publication, *, related_count: int):
        self._publication = publication
        self.related_count = related_count

    @cached_property
    def publication(self) -> Publication:
        return prefetch_detail([self._publication])[0]

    @cached_property
    def authorships(self) -> list:
        return list(self.publication.authorships.all())

    @cached_property
    def _body(self) -> tuple:
        publication = self._publication
        # Figures are read (one query, however many) only when the body places one.
        figures = publication.figures.all() if "[figure" in publication.body.lower() else ()
        return render_body(publication.body, figures)

    @property
    def body(self):
        return self._body[0]

    @property
    def sections(self) -> list:
        return self._body[1]

    @cached_property
    def related(self) -> list[Publication]:
        """Published items sharing a theme or a tag, most shared first, then newest.

        Chosen in memory by the facet index: a theme of a large index has thousands of
        publications, and counting what each shares in SQL took seconds.
        """
        publication = self.publication
        keys = {
            "themes": [theme.slug for theme in publication.themes.all()],
            "tags": [tag.slug for tag in publication.tags.all()],
        }
        if not any(keys.values()):
            return []
        ids = facet_index.current().related(publication.pk, keys, self.related_count)
        fields = ("title", "slug", "kind", "published_at", "subtitle")
        found = {item.pk: item for item in Publication.objects.filter(pk__in=ids).only(*fields)}
        return [found[pk] for pk in ids if pk in found]


def reaction_context(request, publication: Publication) -> dict:
    visitor_id = request.get_signed_cookie(VISITOR_COOKIE, default="", salt=VISITOR_SALT)
    my_vote = None
    if publication.kind == Publication.Kind.BLOG_POST and visitor_id:
        my_vote = reactions.reaction_of(publication=publication, visitor_id=visitor_id)
    return {"my_vote": my_vote, "LIKE": Reaction.Value.LIKE, "DISLIKE": Reaction.Value.DISLIKE}


# The publication page embeds this view (<object>): the one response that may be framed, and
# only by this site's own pages (everything else keeps DENY / frame-ancestors 'none').
@method_decorator(xframe_options_sameorigin, name="dispatch")
@method_decorator(csp_replace({"frame-ancestors": [SELF]}), name="dispatch")
class PublicationPdfView(PublicationVisibilityMixin, View):
    """The PDF, inline (for the embedded viewer) or, with ``?download=1``, as an attachment."""

    def get(self, request, slug):
        publication = get_object_or_404(self.get_queryset().exclude(pdf=""), slug=slug)
        try:
            handle = publication.pdf.open("rb")
        except FileNotFoundError:
            raise Http404("The PDF file is missing.") from None
        download = request.GET.get("download") == "1"
        response = FileResponse(
            handle,
            content_type="application/pdf",
            as_attachment=download,
            filename=f"{publication.slug}.pdf",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


def _same_origin(request) -> bool:
    """Refuse obvious cross-site posts (the token check happens too, see ``react``)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return origin.rstrip("/") == f"{request.scheme}://{request.get_host()}"
    return True


def _csrf_passes(request) -> bool:
    from django.middleware.csrf import CsrfViewMiddleware

    def view(request):  # a stand-in without csrf_exempt, so the middleware checks
        return None

    return CsrfViewMiddleware(view).process_view(request, view, (), {}) is None


@never_cache
@csrf_exempt  # checked by hand: without a token (cached page, no JS) the visitor confirms once
@require_POST
def react(request, slug):
    """Like or dislike a blog post: one vote per visitor (signed cookie id), rate limited."""
    publication = get_object_or_404(
        Publication.objects.published().filter(kind=Publication.Kind.BLOG_POST), slug=slug
    )
    htmx = is_htmx(request, "reactions")
    try:
        value = int(request.POST.get("value", ""))
    except ValueError:
        value = 0
    if value not in Reaction.Value.values:
        return render(
            request,
            "publications/reaction_problem.html",
            {"publication": publication, "problem": "Choose like or dislike."},
            status=HTTPStatus.BAD_REQUEST,
        )
    if not _same_origin(request):
        return render(
            request,
            "publications/reaction_problem.html",
            {"publication": publication, "problem": "Votes can only be sent from this site."},
            status=HTTPStatus.FORBIDDEN,
        )
    if not ratelimit.hit(
        "reaction",
        ratelimit.client_ip(request),
        limit=settings.REACTION_RATE_LIMIT,
        window=settings.REACTION_RATE_WINDOW,
    ):
        return render(
            request,
            "publications/reaction_problem.html",
            {"publication": publication, "problem": "Too many votes from your address; try again later."},
            status=HTTPStatus.TOO_MANY_REQUESTS,
        )
    if not _csrf_passes(request):
        # No token (the page came from the cache, or JavaScript is off): ask once more, with one.
        return render(
            request,
            "publications/reaction_confirm.html",
            {"publication": publication, "value": value, "LIKE": Reaction.Value.LIKE},
        )
    visitor_id = request.get_signed_cookie(VISITOR_COOKIE, default="", salt=VISITOR_SALT)
    new_visitor = not visitor_id
    if new_visitor:
        visitor_id = secrets.token_urlsafe(24)
    reactions.reaction_create(publication=publication, visitor_id=visitor_id, value=value)
    if htmx:
        publication.refresh_from_db(fields=["likes", "dislikes"])
        context = {
            "publication": publication,
            "my_vote": reactions.reaction_of(publication=publication, visitor_id=visitor_id),
            "LIKE": Reaction.Value.LIKE,
            "DISLIKE": Reaction.Value.DISLIKE,
        }
        response = render(request, "publications/publication_detail.html#reactions", context)
    else:
        response = HttpResponseRedirect(publication.get_absolute_url() + "#reactions")
    if new_visitor:
        response.set_signed_cookie(
            VISITOR_COOKIE,
            visitor_id,
            salt=VISITOR_SALT,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response
