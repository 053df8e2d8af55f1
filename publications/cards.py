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

CARD_TEMPLATE = "includes/publication_card.html"


def render_cards(
    publications: Iterable[Publication], *, level: int = 3, compact: bool = False
) -> list[SafeString]:
    """The cards of ``publications``, in order.

    A queryset is read without its prefetches: they run for the cards that
    must be rendered, not for those the cache already holds.
    """
    return render_card_lists([(publications, level, compact)])[0]


def render_card_lists(lists: list[tuple[Iterable[Publication], int, bool]]) -> list[list[SafeString]]:
    """The cards of several lists of ``(publications, level, compact)``: one cache read, one prefetch."""
    named = []
    for publications, level, compact in lists:
        if isinstance(publications, QuerySet) and publications._result_cache is None:
            publications = publications.prefetch_related(None)
        named.append(
            [(f"card:{level}:{int(bool(compact))}:{item.pk}", item, level, compact) for item in publications]
        )
    by_name = {name: (item, level, compact) for cards in named for name, item, level, compact in cards}

    def render(names: list[str]) -> dict[str, str]:
        prefetch_related_objects([by_name[name][0] for name in names], *listing_prefetches())
        template = get_template(CARD_TEMPLATE)
        return {
            name: str(template.render({"publication": item, "level": level, "compact": compact}))
            for name in names
            for item, level, compact in [by_name[name]]
        }

    html = caching.cached_many(list(by_name), render)
    return [[mark_safe(html[name]) for name, *_ in cards] for cards in named]
