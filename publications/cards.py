"""Publication cards, rendered once per publication and content version.

A card shows the same thing on the home page, the index, theme, region, tag and
author pages, so its HTML is cached under the content version
(``center.caching.cached_many``: never stale) and a list of cards costs one
cache read. Only the cards not in the cache are made, and of those only what
they show is read: plain rows of the publications' own fields, then bylines,
themes and regions (``publications.related``; two queries), put into the markup
of :func:`card_html` without model instances or the template engine. A list made with nothing cached (after
each publishing, and in the benchmark's cold mode) so costs about half of what
loading and templating the publications did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.template.loader import get_template
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from center import caching
from center.links import slug_urls
from publications.models import Publication
from publications.related import related
from publications.search import HitPage

ABSTRACT_WORDS = 36  # a full card's abstract is cut after this many words
KIND_LABELS = dict(Publication.Kind.choices)


@dataclass
class Card:
    """What a card shows of one publication."""

    pk: int
    kind: str
    title: str
    subtitle: str
    slug: str
    published_at: datetime | None
    abstract: str
    image_url: str  # the cover's, else the PDF thumbnail's, else ""
    authors: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)


def read_cards(ids: Iterable[int]) -> dict[int, Card]:
    """The cards of the publications with these ids (whatever their status: the lists choose)."""
    ids = list(ids)
    if not ids:
        return {}
    cover, thumbnail = (
        Publication._meta.get_field(name).storage for name in ("cover_image", "pdf_thumbnail")
    )
    rows = Publication.objects.filter(pk__in=ids).values_list(
        "pk", "kind", "title", "subtitle", "slug", "published_at", "abstract", "cover_image", "pdf_thumbnail"
    )
    cards = {
        pk: Card(
            pk,
            kind,
            title,
            subtitle,
            slug,
            published_at,
            abstract,
            cover.url(cover_name) if cover_name else thumbnail.url(thumbnail_name) if thumbnail_name else "",
        )
        for pk, kind, title, subtitle, slug, published_at, abstract, cover_name, thumbnail_name in rows
    }
    for pk, names in related(cards).items():
        card = cards[pk]
        card.authors = [author.full_name for author in names.authors]
        card.themes = [name for _, name in names.themes]
        card.regions = [name for _, name in names.regions]
    return cards


def card_html(card: Card, *, level: int = 3, compact: bool = False, url=None) -> str:
    """One card's ``<article>``: kind and date, the linked title (``<h2>`` or ``<h3>``), subtitle,
    byline, abstract (cut, and left out of compact cards), themes and regions. The image is the
    cover, else the PDF's first page; decorative (``alt=""``: the title beside it is the link
    text), of a fixed size so nothing shifts as it loads."""
    url = url or slug_urls("publications:detail")
    parts = [f'<article class="card card-{escape(card.kind)}">\n']
    if card.image_url:
        parts.append(
            f'<img class="card-image" src="{escape(card.image_url)}" alt="" width="96" height="136"'
            ' loading="lazy" decoding="async">\n'
        )
    kind = KIND_LABELS.get(card.kind, card.kind)
    parts.append(f'<p class="card-meta"><span class="kind-label">{escape(kind)}</span>')
    if card.published_at:
        when = (
            timezone.localtime(card.published_at)
            if timezone.is_aware(card.published_at)
            else card.published_at
        )
        # Django's "Y-m-d" and "F j, Y", without its date formatter (a fifth of a card's making).
        parts.append(
            f' <span aria-hidden="true">·</span> <time datetime="{when.date().isoformat()}">'
            f"{MONTHS[when.month]} {when.day}, {when.year:04d}</time>"
        )
    heading = "h3" if level == 3 else "h2"
    link = f'<a href="{escape(url(card.slug))}">{escape(card.title)}</a>'
    parts.append(f'</p>\n<{heading} class="card-title">{link}</{heading}>\n')
    if card.subtitle:
        parts.append(f'<p class="card-subtitle">{escape(card.subtitle)}</p>\n')
    if card.authors:
        parts.append(f'<p class="card-authors">{escape(", ".join(card.authors))}</p>\n')
    if not compact and card.abstract:
        abstract = Truncator(card.abstract).words(ABSTRACT_WORDS, truncate=" …")
        parts.append(f'<p class="card-abstract">{escape(abstract)}</p>\n')
    if card.themes or card.regions:
        topics = [f'<span class="topic">{escape(name)}</span>' for name in card.themes]
        topics += [f'<span class="topic topic-region">{escape(name)}</span>' for name in card.regions]
        parts.append(f'<p class="card-topics">{"".join(topics)}</p>\n')
    parts.append("</article>")
    return "".join(parts)


def render_cards(
    publications: Iterable[Publication | int], *, level: int = 3, compact: bool = False
) -> list[SafeString]:
    """The cards of ``publications`` (publications, their ids, or a page of ids), in order.

    Of a queryset not yet read, only the ids are read.
    """
    return render_card_lists([(publications, level, compact)])[0]


def render_card_lists(lists: list[tuple[Iterable[Publication | int], int, bool]]) -> list[list[SafeString]]:
    """The cards of several lists of ``(publications, level, compact)``: one cache read, and the
    missing cards made together."""
    named: list[list[str]] = []
    wanted: dict[str, tuple[int, int, bool]] = {}
    for publications, level, compact in lists:
        if isinstance(publications, caching.PageOfIds):
            ids = list(publications.ids)
        elif hasattr(publications, "values_list") and publications._result_cache is None:
            ids = list(publications.values_list("pk", flat=True))
        else:
            ids = [getattr(item, "pk", item) for item in publications]
        names = []
        for pk in ids:
            name = f"card:{level}:{int(bool(compact))}:{pk}"
            wanted[name] = (pk, level, compact)
            names.append(name)
        named.append(names)

    def make(names: list[str]) -> dict[str, str]:
        cards = read_cards({wanted[name][0] for name in names})
        url = slug_urls("publications:detail")
        # "": deleted meanwhile (the deletion makes a new content version, so this is not kept).
        return {
            name: card_html(cards[pk], level=level, compact=compact, url=url) if pk in cards else ""
            for name in names
            for pk, level, compact in [wanted[name]]
        }

    html = caching.cached_many(list(wanted), make, timeout=caching.html_timeout())
    return [[mark_safe(html[name]) for name in names if html[name]] for names in named]


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
