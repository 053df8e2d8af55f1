"""Publication cards, rendered once per publication and content version.

A card (``includes/publication_card.html``) shows the same thing on the home
page, the index, theme, region, tag and author pages, so its HTML is cached
under the content version (``center.caching.cached_many``: never stale) and a
list of cards costs one cache read. Only the cards not in the cache are
rendered, and only their authors, themes and regions are fetched.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet, prefetch_related_objects
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

from center import caching
from publications.models import Publication, listing_prefetches
from publications.search import HitPage

CARD_TEMPLATE = "includes/publication_card.html"


def render_cards(
    publications: Iterable[Publication], *, level: int = 3, compact: bool = False
) -> list[SafeString]:
    """The cards of ``publications``, in order.

    Of a queryset not yet read, only the ids are read: the publications whose
    cards must be rendered are then fetched by id with their authors, themes
    and regions, and those the cache holds cost nothing more.
    """
    return render_card_lists([(publications, level, compact)])[0]


def render_card_lists(lists: list[tuple[Iterable[Publication], int, bool]]) -> list[list[SafeString]]:
    """The cards of several lists of ``(publications, level, compact)``: one cache read, one prefetch."""
    named: list[list[str]] = []
    wanted: dict[str, tuple[Publication | int, int, bool]] = {}
    for publications, level, compact in lists:
        if isinstance(publications, caching.PageOfIds):
            items = publications.objects if publications.loaded else list(publications.ids)
        elif isinstance(publications, QuerySet) and publications._result_cache is None:
            items = list(publications.values_list("pk", flat=True))
        else:
            items = list(publications)
        names = []
        for item in items:
            name = f"card:{level}:{int(bool(compact))}:{getattr(item, 'pk', item)}"
            wanted[name] = (item, level, compact)
            names.append(name)
        named.append(names)

    def render(names: list[str]) -> dict[str, str]:
        ids = [wanted[name][0] for name in names if not isinstance(wanted[name][0], Publication)]
        fetched = Publication.objects.defer("body", "pdf_text").in_bulk(ids) if ids else {}
        publications = {name: fetched.get(wanted[name][0], wanted[name][0]) for name in names}
        prefetch_related_objects(list(publications.values()), *listing_prefetches())
        template = get_template(CARD_TEMPLATE)
        return {
            name: str(
                template.render({"publication": publications[name], "level": level, "compact": compact})
            )
            for name in names
            for _, level, compact in [wanted[name]]
        }

    html = caching.cached_many(list(wanted), render, timeout=caching.html_timeout())
    return [[mark_safe(html[name]) for name in names] for names in named]


HIT_TEMPLATE = "includes/search_hit.html"


def render_hits(page: HitPage) -> list[SafeString]:
    """The cards of a page of search hits, in order: each rendered once per query, publication and
    content version (its highlights depend on the words looked for, not on the filters, the order
    or the page), so a page of hits costs one cache read. Only the missing hits are made."""
    names = {f"search:card:{page.query_key}:{pk}": pk for pk in page.ids}

    def render(missing: list[str]) -> dict[str, str]:
        hits = page.made([names[name] for name in missing])
        template = get_template(HIT_TEMPLATE)
        # "": deleted meanwhile (the deletion makes a new content version, so this is not kept).
        return {
            name: str(template.render({"publication": hits[names[name]]})) if names[name] in hits else ""
            for name in missing
        }

    html = caching.cached_many(list(names), render, timeout=caching.html_timeout())
    return [mark_safe(html[name]) for name in names if html[name]]
