"""``{% cachedfragment %}`` and ``{% fixedfragment %}``: pieces of a page rendered once.

    {% load fragments %}
    {% cachedfragment "site-search-box" section %} ... {% endcachedfragment %}
    {% fixedfragment "site-header" section %} ... {% endfixedfragment %}

The name and the values after it make the key. A cached fragment is kept in the
cache together with the content version (``center.caching.cached``), so it is
never stale: any content change renders it afresh. With
``VALUE_CACHE_SECONDS=0`` it is rendered every time.

A fixed fragment shows nothing derived from the content, only the templates,
settings, URLs and static files of the running code (the site's header, the
footer's links, the cookie notice), so a content change cannot make it stale:
each process keeps it in memory for its lifetime, as it keeps its compiled
templates. Settings change only in tests: the suite forgets them all on each
change (``tests/conftest.py``, so the site never loads ``django.test``). With
``DEBUG`` on, where templates are edited while the server runs, it is rendered
every time.

Neither kind may hold anything that differs between two requests with the same
key (a CSRF token, a nonce, a form stamp).
"""

from __future__ import annotations

import hashlib

from django import template
from django.conf import settings
from django.urls import get_script_prefix
from django.utils.safestring import mark_safe

from center import caching

register = template.Library()

FIXED_MAX_ENTRIES = 500  # keys are few (a fragment per section); past this many, start over
_fixed: dict[str, str] = {}


def forget_fixed_fragments(**kwargs) -> None:
    """Drop every fixed fragment (on ``setting_changed`` in the tests: what they show may change)."""
    _fixed.clear()


class CachedFragmentNode(template.Node):
    def __init__(self, nodelist: template.NodeList, name: template.base.FilterExpression, vary_on: list):
        self.nodelist = nodelist
        self.name = name
        self.vary_on = vary_on

    def key(self, context) -> str:
        values = "|".join(repr(value.resolve(context)) for value in self.vary_on)
        digest = hashlib.sha256(values.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return f"fragment:{self.name.resolve(context)}:{digest}"

    def render(self, context) -> str:
        html = caching.cached(
            self.key(context), lambda: str(self.nodelist.render(context)), timeout=caching.html_timeout()
        )
        return mark_safe(html)


class FixedFragmentNode(CachedFragmentNode):
    def render(self, context) -> str:
        key = f"{get_script_prefix()}|{self.key(context)}"  # URLs differ under another prefix
        html = _fixed.get(key)
        if html is None:
            html = str(self.nodelist.render(context))
            if not settings.DEBUG:
                if len(_fixed) >= FIXED_MAX_ENTRIES:
                    _fixed.clear()
                _fixed[key] = html
        return mark_safe(html)


def _parse(parser, token, node: type[CachedFragmentNode]) -> CachedFragmentNode:
    bits = token.split_contents()
    tag = bits[0]
    if len(bits) < 2:
        raise template.TemplateSyntaxError(f"'{tag}' needs a name: {{% {tag} \"name\" … %}}")
    nodelist = parser.parse((f"end{tag}",))
    parser.delete_first_token()
    return node(nodelist, parser.compile_filter(bits[1]), [parser.compile_filter(b) for b in bits[2:]])


@register.tag
def cachedfragment(parser, token) -> CachedFragmentNode:
    return _parse(parser, token, CachedFragmentNode)


@register.tag
def fixedfragment(parser, token) -> FixedFragmentNode:
    return _parse(parser, token, FixedFragmentNode)
