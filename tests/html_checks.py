"""Checks of rendered HTML shared by the page tests: validity and basic accessibility."""

from __future__ import annotations

import html5lib


def html_errors(content: bytes | str) -> list[str]:
    """The HTML5 parse errors of a page (html5lib, the WHATWG parsing algorithm)."""
    parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=False)
    parser.parse(content)
    return [f"{position}: {code} {data}" for position, code, data in parser.errors]


def assert_valid_page(content: bytes) -> None:
    """A complete, well-formed page with one h1, a main landmark, and labelled form controls."""
    errors = html_errors(content)
    assert errors == [], errors
    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    document = parser.parse(content)
    assert len(document.findall(".//h1")) == 1, "exactly one h1"
    assert len(document.findall(".//main")) == 1
    assert document.find(".//header") is not None
    assert document.find(".//footer") is not None
    ids = [element.get("id") for element in document.iter() if element.get("id")]
    duplicates = {value for value in ids if ids.count(value) > 1}
    assert not duplicates, f"duplicate ids {duplicates}"
    labelled = {label.get("for") for label in document.iter("label")}
    for control in [*document.iter("input"), *document.iter("select"), *document.iter("textarea")]:
        if control.get("type") in ("hidden", "submit", "button"):
            continue
        assert control.get("id") in labelled or control.get("aria-label"), (
            f"unlabelled control {control.get('name')}"
        )
    for image in document.iter("img"):
        assert image.get("alt") is not None, f"image without alt: {image.get('src')}"
    styled = [element.tag for element in document.iter() if element.get("style") is not None]
    assert not styled, f"inline style attributes (the CSP forbids them) on {styled}"
    # JSON-LD and other data blocks are not executed, so the CSP does not concern them.
    inline_scripts = [
        script
        for script in document.iter("script")
        if (script.text or "").strip()
        and script.get("type", "text/javascript") in ("text/javascript", "module")
    ]
    assert not inline_scripts, "inline script (the CSP forbids it)"
