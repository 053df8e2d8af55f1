"""Template tags of the "Cite item" block and of list downloads."""

from __future__ import annotations

from django import template
from django.http import QueryDict
from django.urls import reverse
from django.utils.safestring import mark_safe

from publications.citations import formatted_citations

register = template.Library()


@register.simple_tag
def publication_citations(publication) -> list[dict]:
    """The publication's formatted citations, one per style (HTML escaped by the formatter)."""
    return [
        {**citation, "html": mark_safe(citation["html"])}  # escaped in citations.py
        for citation in formatted_citations(publication)
    ]


@register.simple_tag(takes_context=True)
def list_export_url(context, url_name: str, fmt: str) -> str:
    """The download URL of the list on this page: same filters (query string) without the page number."""
    request = context.get("request")
    query = request.GET.copy() if request is not None else QueryDict(mutable=True)
    query.pop("page", None)
    url = reverse(url_name, kwargs={"fmt": fmt})
    return f"{url}?{query.urlencode()}" if query else url
