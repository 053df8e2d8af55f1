"""Every public URL of the site, collected from the URLconf and filled from real objects.

Walking ``get_resolver()`` means a new route is covered by the hostile-input
and XSS tests as soon as it exists. A route whose arguments cannot be filled
gets a plain value (the test still checks that it never fails with a 5xx).
"""

from __future__ import annotations

import re

from django.urls import URLPattern, URLResolver, get_resolver

# Not public pages: the admin (tested with a staff user elsewhere), media files (served by
# the web server in production) and the benchmark's constant answer.
EXCLUDED_PREFIXES = ("admin/", "media/", "^media/", "bench/")


def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield prefix + str(pattern.pattern), namespace + pattern.name, pattern


def public_routes() -> list[tuple[str, str, list[str]]]:
    """(route, URL name, argument names) of every public view, admin and media left out."""
    routes = []
    for route, name, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(EXCLUDED_PREFIXES):
            continue
        arguments = list(getattr(pattern.pattern, "converters", {}) or {})
        regex = getattr(pattern.pattern, "regex", None)
        if regex is not None:
            arguments = sorted(set(arguments) | set(regex.groupindex))
        routes.append((route, name, arguments))
    return routes


def argument_value(route: str, name: str, argument: str, objects: dict) -> str:
    """A real value for ``argument`` of the route (a slug of an existing object, a valid token)."""
    if argument == "slug":
        for prefix, key in (
            ("publications/", "publication"),
            ("themes/", "theme"),
            ("regions/", "region"),
            ("tags/", "tag"),
            ("authors/", "author"),
        ):
            if route.lstrip("^").startswith(prefix):
                return objects[key]
        return objects["publication"]
    if argument == "fmt":
        match = re.search(r"\(\?P<fmt>([\w|]+)\)", route)
        return match.group(1).split("|")[0] if match else "bib"
    if argument == "kind":
        return objects["kind"]
    if argument == "section":
        return objects["section"]
    if argument == "token":
        return objects["confirm_token"] if name.endswith(":confirm") else objects["manage_token"]
    return "x"
