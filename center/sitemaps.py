"""The site's sitemap: an index of sections, each paginated.

``/sitemap.xml`` is always a sitemap index (valid for any size); it lists one
URL per page of each section (``/sitemap-<section>.xml?p=N``), at most
``SITEMAP_PAGE_SIZE`` URLs each, with the section's latest ``lastmod``.
"""

from __future__ import annotations

import datetime as dt
import math
from html import escape as escape_xml  # plain str in, str out: no lazy-string wrapper per URL

from django.conf import settings
from django.contrib.sitemaps import views as sitemap_views
from django.core.paginator import EmptyPage, InvalidPage, PageNotAnInteger
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.http import http_date

from authors.sitemaps import AuthorSitemap
from center import caching
from publications.metadata import absolute_url
from publications.sitemaps import (
    PublicationSitemap,
    RegionSitemap,
    SiteSitemap,
    TagSitemap,
    ThemeSitemap,
    latest_public_change,
)


class StaticSitemap(SiteSitemap):
    """The home page and the top-level indexes; they change whenever a publication does."""

    changefreq = "daily"

    def items(self) -> list[str]:
        return ["home", "publications:index", "publications:themes", "publications:regions", "authors:index"]

    def location(self, item: str) -> str:
        return reverse(item)

    def lastmod(self, item: str):
        return latest_public_change()


SITEMAPS = {
    "pages": StaticSitemap,
    "publications": PublicationSitemap,
    "authors": AuthorSitemap,
    "themes": ThemeSitemap,
    "regions": RegionSitemap,
    "tags": TagSitemap,
}


def sitemap_index(request):
    """``/sitemap.xml``: every page of every section, with absolute URLs on ``SITE_URL``.

    Its XML is made once per content version: it has an entry per page of each section, so
    rendering it on each request would cost more as the index grows.
    """
    name = f"sitemap-index-xml:{settings.SITEMAP_PAGE_SIZE}:{settings.SITE_URL}:{get_script_prefix()}"
    body, latest_overall = caching.cached(name, _index_xml)
    response = HttpResponse(body, content_type="application/xml")
    if latest_overall:
        response["Last-Modified"] = http_date(latest_overall.timestamp())
    return response


def _index_xml() -> tuple[str, dt.datetime | None]:
    """The index's XML, written out directly: it has an entry per page of each section (65 at
    100,000 publications), and Django's template took 6 ms for them when nothing was cached."""
    entries, latest_overall = _index_entries()
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
    ]
    stamps = {}  # a section's pages share its lastmod: formatted once
    for entry in entries:
        lastmod = entry.last_mod
        if lastmod not in stamps:
            stamps[lastmod] = f"<lastmod>{_w3c(lastmod)}</lastmod>" if lastmod else ""
        parts.append(
            f"<sitemap><loc>{escape_xml(entry.location, quote=False)}</loc>{stamps[lastmod]}</sitemap>\n"
        )
    parts.append("</sitemapindex>\n")
    return "".join(parts), latest_overall


def _w3c(moment: dt.datetime | dt.date) -> str:
    """A W3C datetime in the site's time zone, to the microsecond (as the ``date:"c"`` filter)."""
    if isinstance(moment, dt.datetime) and timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return moment.isoformat()


def _index_entries() -> tuple[list, dt.datetime | None]:
    """One entry per page of each section (with the section's latest ``lastmod``), and the latest."""
    entries = []
    latest_overall = None
    for section, sitemap_class in SITEMAPS.items():
        sitemap = sitemap_class()
        location = absolute_url(reverse("sitemap-section", kwargs={"section": section}))
        lastmod = sitemap.get_latest_lastmod()
        if lastmod and (latest_overall is None or lastmod > latest_overall):
            latest_overall = lastmod
        count = sitemap.count()
        if not count:
            continue
        pages = max(1, math.ceil(count / sitemap.limit))
        entries.append(sitemap_views.SitemapIndexItem(location, lastmod))
        entries += [
            sitemap_views.SitemapIndexItem(f"{location}?p={page}", lastmod) for page in range(2, pages + 1)
        ]
    return entries, latest_overall


def sitemap_section(request, section: str):
    """``/sitemap-<section>.xml?p=N``: one page of one section.

    Written out directly rather than through Django's template: a page holds up
    to ``SITEMAP_PAGE_SIZE`` (2,000 by default) URLs, and the template costs
    seconds for 10,000. Made once per content version.
    """
    if section not in SITEMAPS:
        raise Http404(f"No sitemap section {section!r}.")
    sitemap = SITEMAPS[section]()
    paginator = sitemap.paginator
    try:
        number = paginator.validate_number(request.GET.get("p", 1))
    except (EmptyPage, PageNotAnInteger, InvalidPage):
        raise Http404("No such sitemap page.") from None
    # The page's XML, made once per section, page and content version.
    name = f"sitemap:{section}:{number}:{settings.SITEMAP_PAGE_SIZE}:{settings.SITE_URL}"
    body, latest = caching.cached(name, lambda: _urlset(sitemap, paginator.page(number)))
    response = HttpResponse(body, content_type="application/xml; charset=utf-8")
    response["X-Robots-Tag"] = "noindex, noodp, noarchive"
    if latest is not None:
        response["Last-Modified"] = http_date(latest)
    return response


def _urlset(sitemap, page) -> tuple[str, float | None]:
    """A sitemap page's XML, and the timestamp of its latest ``lastmod``."""
    protocol, domain = sitemap.get_protocol(), sitemap.get_domain()
    changefreq = f"<changefreq>{sitemap.changefreq}</changefreq>" if sitemap.changefreq else ""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
    ]
    latest = None
    for item in page.object_list:
        location = f"{protocol}://{domain}{sitemap.location(item)}"
        if "&" in location or "<" in location or ">" in location:
            location = escape_xml(location, quote=False)
        lastmod = sitemap.lastmod(item)
        stamp = ""
        if lastmod is not None:
            latest = lastmod if latest is None or lastmod > latest else latest
            w3c = getattr(item, "w3c", "") or lastmod.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            stamp = f"<lastmod>{w3c}</lastmod>"
        parts.append(f"<url><loc>{location}</loc>{stamp}{changefreq}</url>\n")
    parts.append("</urlset>\n")
    return "".join(parts), latest.timestamp() if latest is not None else None


def robots_txt(request):
    """``/robots.txt``: crawl everything public, not the admin, and find the sitemap here."""
    return TemplateResponse(
        request,
        "robots.txt",
        {"sitemap_url": absolute_url(reverse("sitemap-index"))},
        content_type="text/plain; charset=utf-8",
    )
