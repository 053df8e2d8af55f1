"""``{% cachedfragment %}``: a piece of a page rendered once per content version.

    {% load fragments %}
    {% cachedfragment "site-header" section %} ... {% endcachedfragment %}

The name and the values after it make the key, together with the content
version (``center.caching.cached``), so the fragment is never stale: any
content change renders it afresh. A fragment must not hold anything that
differs between two requests with the same key (a CSRF token, a nonce, a form
stamp). With ``VALUE_CACHE_SECONDS=0`` it is rendered every time.
"""

from __future__ import annotations

import hashlib

from django import template
from django.utils.safestring import mark_safe

from center import caching

register = template.Library()


class CachedFragmentNode(template.Node):
    def __init__(self, nodelist: template.NodeList, name: template.base.FilterExpression, vary_on: list):
        self.nodelist = nodelist
        self.name = name
        self.vary_on = vary_on

    def render(self, context) -> str:
        values = "|".join(repr(value.resolve(context)) for value in self.vary_on)
        digest = hashlib.sha256(values.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        html = caching.cached(
            f"fragment:{self.name.resolve(context)}:{digest}",
            lambda: str(self.nodelist.render(context)),
            timeout=caching.html_timeout(),
        )
        return mark_safe(html)


@register.tag
def cachedfragment(parser, token) -> CachedFragmentNode:
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError("'cachedfragment' needs a name: {% cachedfragment \"name\" … %}")
    nodelist = parser.parse(("endcachedfragment",))
    parser.delete_first_token()
    return CachedFragmentNode(
        nodelist, parser.compile_filter(bits[1]), [parser.compile_filter(b) for b in bits[2:]]
    )
