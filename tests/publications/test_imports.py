"""Importing publications (CSV, BibTeX, RIS, CSL-JSON): dry run, validation, idempotency, round trips."""

from __future__ import annotations

import datetime as dt
import json
import os
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from authors.models import Author
from publications.exports import export, for_export
from publications.imports import publications_import
from publications.models import Publication
from tests.factories import AuthorFactory, OrganizationFactory, PublicationFactory

pytestmark = pytest.mark.django_db

CSV_HEADER = (
    "key,kind,title,authors,author_orcids,author_organizations,date,doi,"
    "journal,volume,issue,pages,keywords,themes,language,abstract\n"
)
CSV_ROWS = (
    'water-2020,article,"Вода и безопасность: 100% & {more}","Петрова, Анна; Müller, Jörg",'
    "0000-0002-1825-0097;,Институт экономики;Uni Wien,2020-03-15,10.1234/water.2020,"
    "Journal of Water,4,2,10-20,"
    '"water; Центральная Азия",Economics,ru,"Аннотация: вода."\n'
    'energy-2019,report,Energy Outlook,"Smith, John",,,2019,,,,,,energy,,en,Outlook.\n'
)


def _import(text, fmt="csv", **options):
    return publications_import(file=text.encode(), format=fmt, **options)


def _snapshot(publication):
    """What a round trip must preserve."""
    publication = for_export(Publication.objects.filter(pk=publication.pk)).get()
    return {
        "title": publication.title,
        "kind": publication.kind,
        "date": publication.published_at.date(),
        "authors": [(a.author.given_name, a.author.family_name) for a in publication.authorships.all()],
        "doi": publication.doi,
        "container_title": publication.container_title,
        "volume": publication.volume,
        "issue": publication.issue,
        "pages": publication.pages,
        "abstract": publication.abstract,
        "keywords": sorted(tag.name for tag in publication.tags.all()),
        "language": publication.language,
    }


def test_import_csv_creates_publications():
    """A valid CSV creates each publication with its authors, in order, Cyrillic intact."""
    report = _import(CSV_HEADER + CSV_ROWS)
    assert report.ok and report.committed
    assert (report.created, report.updated) == (2, 0)
    water = Publication.objects.get(doi="10.1234/water.2020")
    assert water.title == "Вода и безопасность: 100% & {more}"
    assert water.slug == "water-2020"
    assert water.kind == Publication.Kind.ARTICLE
    assert water.status == Publication.Status.PUBLISHED
    assert water.published_at.date() == dt.date(2020, 3, 15)
    authors = [a.author for a in water.authorships.order_by("position")]
    assert [a.family_name for a in authors] == ["Петрова", "Müller"]
    assert authors[0].orcid == "0000-0002-1825-0097"
    assert authors[0].organization.name == "Институт экономики"
    assert sorted(t.name for t in water.tags.all()) == ["water", "Центральная Азия"]
    assert [t.name for t in water.themes.all()] == ["Economics"]
    assert (water.container_title, water.volume, water.issue, water.pages) == (
        "Journal of Water",
        "4",
        "2",
        "10-20",
    )


def test_import_is_idempotent():
    """Importing the same file twice updates, never duplicates (publications or authors)."""
    _import(CSV_HEADER + CSV_ROWS)
    report = _import(CSV_HEADER + CSV_ROWS)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert Publication.objects.count() == 2
    assert Author.objects.count() == 3


def test_import_changed_row_updates():
    """A row that differs from the database is an update; the others stay unchanged."""
    _import(CSV_HEADER + CSV_ROWS)
    report = _import(CSV_HEADER + CSV_ROWS.replace("Energy Outlook", "Energy Outlook 2020"))
    assert [row.action for row in report.rows] == ["unchanged", "update"]
    assert Publication.objects.filter(title="Energy Outlook 2020").count() == 1


def test_import_matches_by_doi():
    """A record with an existing DOI updates that publication even under another key."""
    existing = PublicationFactory(doi="10.1234/water.2020", slug="old-slug")
    report = _import(CSV_HEADER + CSV_ROWS.splitlines()[0] + "\n")
    assert report.updated == 1
    existing.refresh_from_db()
    assert existing.title == "Вода и безопасность: 100% & {more}"
    assert existing.slug == "old-slug"


def test_import_matches_author_by_orcid():
    """An author with the file's ORCID is reused, whatever the name spelling."""
    author = AuthorFactory(given_name="A.", family_name="Petrova", orcid="0000-0002-1825-0097")
    _import(CSV_HEADER + CSV_ROWS)
    water = Publication.objects.get(doi="10.1234/water.2020")
    assert water.authorships.order_by("position").first().author == author


def test_import_same_name_authors_prefers_the_byline(db):
    """Without ORCID or organization, of two same-name authors the one already in the byline is kept."""
    AuthorFactory(given_name="Jörg", family_name="Müller")
    second = AuthorFactory(given_name="Jörg", family_name="Müller")
    publication = PublicationFactory(slug="energy-2019", authors=[second])
    author = '{"family": "Müller", "given": "Jörg"}'
    _import(f'[{{"id": "energy-2019", "type": "report", "title": "E", "author": [{author}]}}]', "json")
    assert [a.author for a in publication.authorships.all()] == [second]
    assert Author.objects.count() == 2


def test_import_matches_author_by_name_and_organization():
    """Without ORCID, the author with the same name and organization is reused."""
    organization = OrganizationFactory(name="Uni Wien")
    same = AuthorFactory(given_name="Jörg", family_name="Müller", organization=organization)
    AuthorFactory(given_name="Jörg", family_name="Müller", organization=OrganizationFactory(name="Elsewhere"))
    _import(CSV_HEADER + CSV_ROWS)
    water = Publication.objects.get(doi="10.1234/water.2020")
    assert water.authorships.order_by("position")[1].author == same


def test_import_dry_run_writes_nothing():
    """A dry run reports what would be created and writes nothing."""
    report = _import(CSV_HEADER + CSV_ROWS, dry_run=True)
    assert [row.action for row in report.rows] == ["create", "create"]
    assert not report.committed
    assert Publication.objects.count() == 0
    assert Author.objects.count() == 0


def test_import_invalid_rows_reject_whole_file():
    """One invalid row rejects the file: nothing imported, row, field and reason reported."""
    bad = 'bad-1,article,Broken,"Doe, Jane",1234,,2021-13-01,not-a-doi,,,,,,,xx,\n'
    report = _import(CSV_HEADER + CSV_ROWS + bad)
    assert not report.ok
    assert Publication.objects.count() == 0
    (row,) = report.invalid_rows
    assert row.number == 4
    fields = {name for name, _ in row.errors}
    assert {"date", "doi", "author_orcids", "language"} <= fields
    assert "not a valid date" in row.error_text
    assert report.summary() == "File rejected: 1 invalid row(s); nothing was imported."


def test_import_skip_invalid_reports_skipped_rows():
    """With skip_invalid the valid rows are imported and the invalid ones reported as skipped."""
    bad = "bad-1,novel,No kind,,,,2021,,,,,,,,,\n"
    report = _import(CSV_HEADER + CSV_ROWS + bad, skip_invalid=True)
    assert report.committed
    assert report.created == 2
    assert [(row.number, row.action) for row in report.rows if row.errors] == [(4, "skipped")]
    assert "kind: Unknown kind" in report.rows[2].error_text
    assert not Publication.objects.filter(title="No kind").exists()


def test_import_duplicate_rows_in_file_rejected():
    """Two rows for the same publication are an error, not a silent overwrite."""
    report = _import(CSV_HEADER + CSV_ROWS + CSV_ROWS.splitlines()[0] + "\n")
    assert not report.ok
    assert "Same publication as row 2" in report.invalid_rows[0].error_text


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("title;oops\nx;y\n", "csv", "Unknown CSV column"),
        ("name\nx\n", "csv", "no “title” column"),
        ("[{", "json", "JSON syntax error"),
        ('{"a": 1}', "json", "Unsupported CSL type"),
        ("@article{x, title = {unclosed\n", "bib", "BibTeX syntax error"),
    ],
)
def test_import_unreadable_file_rejected(text, fmt, message):
    """A malformed file is rejected with a clear message, never an exception."""
    report = _import(text, fmt)
    assert not report.ok
    assert message in (report.file_error + " ".join(row.error_text for row in report.rows))
    assert Publication.objects.count() == 0


def test_import_not_utf8_rejected():
    """A file that is not UTF-8 is rejected whole."""
    report = publications_import(file="title\nВода\n".encode("cp1251"), format="csv")
    assert "not UTF-8" in report.file_error


@pytest.mark.parametrize("fmt", ["bib", "ris", "json"])
def test_round_trip_export_import(article, fmt):
    """Exporting a publication and importing the file into an empty index gives the same publication."""
    article.tags.set(["trade", "Центральная Азия"])
    before = _snapshot(article)
    text = export(for_export(Publication.objects.filter(pk=article.pk)), fmt)
    Publication.objects.all().delete()
    report = _import(text, fmt)
    assert report.ok, report.rows[0].error_text
    assert report.created == 1
    imported = Publication.objects.get()
    assert imported.slug == "trade-security-revisited"
    assert _snapshot(imported) == before


@pytest.mark.parametrize("fmt", ["bib", "ris", "json"])
def test_round_trip_reimport_updates_in_place(article, fmt):
    """Re-importing our own export finds the same publication unchanged and creates no author."""
    text = export(for_export(Publication.objects.filter(pk=article.pk)), fmt)
    authors = Author.objects.count()
    report = _import(text, fmt)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    assert Publication.objects.count() == 1
    assert Author.objects.count() == authors


@pytest.mark.parametrize("fmt", ["bib", "ris", "json"])
def test_reimport_keeps_subtitle(fmt):
    """Re-importing our export keeps title and subtitle apart, even where the format joins them."""
    publication = PublicationFactory(title="Water", subtitle="A Study", authors=[AuthorFactory()])
    text = export(for_export(Publication.objects.filter(pk=publication.pk)), fmt)
    assert _import(text, fmt).unchanged == 1
    publication.refresh_from_db()
    assert (publication.title, publication.subtitle) == ("Water", "A Study")


@pytest.mark.parametrize("kind", Publication.Kind.values)
@pytest.mark.parametrize("fmt", ["bib", "ris", "json"])
def test_round_trip_kind(kind, fmt):
    """Every kind survives export and import in every format."""
    publication = PublicationFactory(kind=kind, authors=[AuthorFactory()])
    text = export(for_export(Publication.objects.filter(pk=publication.pk)), fmt)
    Publication.objects.all().delete()
    _import(text, fmt)
    assert Publication.objects.get().kind == kind


def test_import_bibtex_foreign_file():
    """A BibTeX file from elsewhere (LaTeX accents, month names, braces) imports."""
    text = r"""
@article{Dvorak2018,
  author = {Dvo{\v{r}}{\'a}k, Anton{\'\i}n and {de la Cruz}, Mar{\'\i}a and Иванов, Иван},
  title = {{Trade} in the {Caspian}: 50\% \& more},
  journal = {Caspian Review},
  year = 2018, month = mar,
  pages = {1--9},
  doi = {https://doi.org/10.5555/CR.2018.1},
  langid = {english}
}
"""
    report = _import(text, "bib")
    assert report.ok, report.rows[0].error_text
    publication = Publication.objects.get()
    assert publication.title == "Trade in the Caspian: 50% & more"
    assert publication.doi == "10.5555/CR.2018.1"
    assert publication.published_at.date() == dt.date(2018, 3, 1)
    assert publication.pages == "1-9"
    names = [
        (a.author.given_name, a.author.family_name) for a in publication.authorships.order_by("position")
    ]
    assert names == [("Antonín", "Dvořák"), ("María", "de la Cruz"), ("Иван", "Иванов")]
    assert publication.slug == "dvorak2018"


def test_import_cyrillic_key_gets_ascii_slug():
    """A title in Cyrillic without a key still gets a readable ASCII slug."""
    _import('[{"type": "report", "title": "Экономика Сибири", "issued": {"date-parts": [[2015]]}}]', "json")
    assert Publication.objects.get().slug == "ekonomika-sibiri"


def test_import_command_dry_run(tmp_path):
    """The command detects the format, reports each row and writes nothing on --dry-run."""
    path = tmp_path / "index.csv"
    path.write_text(CSV_HEADER + CSV_ROWS, encoding="utf-8")
    out = StringIO()
    call_command("import_publications", str(path), "--dry-run", stdout=out)
    assert "row 2: create" in out.getvalue()
    assert "Dry run: Would create 2, would update 0." in out.getvalue()
    assert Publication.objects.count() == 0


def test_import_command_imports(tmp_path):
    """The command imports the file."""
    path = tmp_path / "index.csv"
    path.write_text(CSV_HEADER + CSV_ROWS, encoding="utf-8")
    call_command("import_publications", str(path), stdout=StringIO())
    assert Publication.objects.count() == 2


def test_import_command_rejects_invalid_file(tmp_path):
    """An invalid file makes the command fail with the summary, after listing the bad rows."""
    path = tmp_path / "index.csv"
    path.write_text(CSV_HEADER + "x,article,T,,,,someday,,,,,,,,,\n", encoding="utf-8")
    out = StringIO()
    with pytest.raises(CommandError, match="1 invalid row"):
        call_command("import_publications", str(path), stdout=out)
    assert "row 2: invalid" in out.getvalue()
    assert "date: “someday” is not a date" in out.getvalue()


def test_import_command_unknown_extension(tmp_path):
    """A file of unknown type is refused with advice."""
    path = tmp_path / "index.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(CommandError, match=r"use \.csv, \.bib, \.ris or \.json"):
        call_command("import_publications", str(path))


def test_admin_import_preview_then_confirm(staff_client, tmp_path):
    """The admin page previews row by row, writes nothing, then imports on confirmation."""
    url = reverse("admin:publications_publication_import")
    upload = SimpleUploadedFile("index.csv", (CSV_HEADER + CSV_ROWS).encode(), content_type="text/csv")
    response = staff_client.post(url, {"file": upload})
    page = response.content.decode()
    assert "Preview (dry run)" in page
    assert "Would create 2, would update 0." in page
    assert "Вода и безопасность" in page
    assert Publication.objects.count() == 0
    token = response.context["confirm"]["token"]
    response = staff_client.post(url, {"confirm": "1", "token": token, "format": "csv"})
    assert response.status_code == 302
    assert Publication.objects.count() == 2


def test_admin_import_invalid_file_shows_errors(staff_client):
    """An invalid file is shown with its row, field and reason, and cannot be confirmed."""
    upload = SimpleUploadedFile("index.csv", (CSV_HEADER + "x,article,T,,,,someday,,,,,,,,,\n").encode())
    response = staff_client.post(reverse("admin:publications_publication_import"), {"file": upload})
    page = response.content.decode()
    assert "File rejected: 1 invalid row(s); nothing was imported." in page
    assert "“someday” is not a date" in page
    assert "Confirm import" not in page


def test_admin_import_link_on_changelist(staff_client):
    """The publication list links to the import page."""
    response = staff_client.get(reverse("admin:publications_publication_changelist"))
    assert reverse("admin:publications_publication_import") in response.content.decode()


def test_admin_import_expired_token(staff_client):
    """Confirming an unknown upload asks to upload again instead of failing."""
    url = reverse("admin:publications_publication_import")
    response = staff_client.post(url, {"confirm": "1", "token": "0" * 32, "format": "csv"}, follow=True)
    assert "has expired" in response.content.decode()


def test_admin_import_removes_stale_uploads(staff_client, settings):
    """Uploads never confirmed are deleted after a day, at the next preview."""
    stale = settings.MEDIA_ROOT / "imports" / ("a" * 32 + ".upload")
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"title\nOld\n")
    two_days_ago = (dt.datetime.now() - dt.timedelta(days=2)).timestamp()
    os.utime(stale, (two_days_ago, two_days_ago))
    upload = SimpleUploadedFile("index.csv", (CSV_HEADER + CSV_ROWS).encode())
    staff_client.post(reverse("admin:publications_publication_import"), {"file": upload})
    assert not stale.exists()
    assert len(list(stale.parent.iterdir())) == 1


def test_import_strips_control_characters():
    """NUL and other control characters in a file are dropped, not stored (PostgreSQL refuses NUL)."""
    report = _import(
        '[{"id": "n", "type": "report", "title": "Null\\u0000 byte\\u0007", '
        '"issued": {"date-parts": [[2020]]}}]',
        "json",
    )
    assert report.committed
    assert Publication.objects.get().title == "Null byte"


# Matching: DOI, then source key; never the title ---------------------------------

KEYLESS_HEADER = "kind,title,authors,date,doi\n"


def test_import_keyless_row_same_title_other_doi_creates_new():
    """A keyless row with an existing title but another DOI is a new publication: the old one is untouched."""
    author = AuthorFactory(given_name="Anna", family_name="Petrova")
    existing = PublicationFactory(
        title="Energy Outlook", slug="energy-outlook", doi="10.1234/old", authors=[author]
    )
    report = _import(KEYLESS_HEADER + 'report,Energy Outlook,"Smith, John",2020,10.1234/new\n')
    assert report.committed
    assert report.created == 1
    existing.refresh_from_db()
    assert existing.doi == "10.1234/old"
    assert [a.author for a in existing.authorships.all()] == [author]
    created = Publication.objects.get(doi="10.1234/new")
    assert created.slug == "energy-outlook-2"


def test_import_keyless_row_same_title_other_doi_warns_in_dry_run():
    """The dry run warns that a row with a taken title will be a new publication under a free slug."""
    PublicationFactory(title="Energy Outlook", slug="energy-outlook", doi="10.1234/old")
    report = _import(KEYLESS_HEADER + 'report,Energy Outlook,"Smith, John",2020,10.1234/new\n', dry_run=True)
    assert report.rows[0].action == "create"
    assert "title: “Energy Outlook” already has the slug “energy-outlook”" in report.rows[0].warning_text
    assert report.summary() == "Would create 1, would update 0; 1 row(s) with warnings."


def test_import_key_whose_slug_is_taken_creates_new():
    """A new key whose slug belongs to a publication with another source key creates a new publication."""
    existing = PublicationFactory(slug="energy-2019", source_key="energy-2019-original", title="Old")
    report = _import(CSV_HEADER + CSV_ROWS.splitlines()[1] + "\n")
    assert report.created == 1
    existing.refresh_from_db()
    assert existing.title == "Old"
    created = Publication.objects.get(source_key="energy-2019")
    assert created.slug == "energy-2019-2"


def test_import_two_keyless_rows_same_title_different_dois_both_created():
    """Two keyless rows with one title but different DOIs are two publications, not a duplicate-row error."""
    rows = (
        'report,Energy Outlook,"Smith, John",2020,10.1234/a\n'
        'report,Energy Outlook,"Smith, John",2021,10.1234/b\n'
    )
    report = _import(KEYLESS_HEADER + rows)
    assert report.created == 2, [row.error_text for row in report.rows]
    assert sorted(Publication.objects.values_list("slug", flat=True)) == [
        "energy-outlook",
        "energy-outlook-2",
    ]


def test_import_keyless_row_same_title_without_doi_rejected():
    """A row with neither key nor DOI whose title's slug is taken is a row error, not an update."""
    existing = PublicationFactory(title="Energy Outlook", slug="energy-outlook", doi="10.1234/old")
    report = _import(KEYLESS_HEADER + 'report,Energy Outlook,"Smith, John",2020,\n')
    assert not report.ok
    (row,) = report.invalid_rows
    assert row.number == 2
    assert "title: A different publication already uses the slug “energy-outlook”" in row.error_text
    existing.refresh_from_db()
    assert existing.doi == "10.1234/old"
    assert Publication.objects.count() == 1


def test_import_stores_source_key():
    """A created publication keeps the record's key as its source key."""
    _import(CSV_HEADER + CSV_ROWS)
    assert Publication.objects.get(doi="10.1234/water.2020").source_key == "water-2020"


def test_import_reimport_after_slug_edit_updates():
    """After staff change the slug, re-importing the file updates the same publication by its source key."""
    _import(CSV_HEADER + CSV_ROWS)
    energy = Publication.objects.get(source_key="energy-2019")
    energy.slug = "energy-outlook-2019"
    energy.save()
    report = _import(CSV_HEADER + CSV_ROWS.replace("Energy Outlook", "Energy Outlook Revised"))
    assert [row.action for row in report.rows] == ["unchanged", "update"]
    assert Publication.objects.count() == 2
    energy.refresh_from_db()
    assert (energy.slug, energy.title) == ("energy-outlook-2019", "Energy Outlook Revised")


def test_import_key_of_publication_with_other_doi_rejected():
    """A key naming a publication whose DOI differs from the row's is an error, not a DOI overwrite."""
    existing = PublicationFactory(slug="energy-2019", doi="10.1234/old")
    report = _import(CSV_HEADER + CSV_ROWS.splitlines()[1].replace(",2019,,", ",2019,10.1234/new,") + "\n")
    assert not report.ok
    assert "doi: The key “energy-2019” belongs to" in report.invalid_rows[0].error_text
    existing.refresh_from_db()
    assert existing.doi == "10.1234/old"


def test_import_doi_and_key_of_two_publications_rejected():
    """A row whose DOI names one publication and key another is an error."""
    PublicationFactory(slug="one", doi="10.1234/water.2020")
    PublicationFactory(slug="two", source_key="water-2020")
    report = _import(CSV_HEADER + CSV_ROWS.splitlines()[0] + "\n")
    assert not report.ok
    assert "belongs to “" in report.invalid_rows[0].error_text
    assert "but the key “water-2020” to “" in report.invalid_rows[0].error_text


def test_import_learns_key_of_publication_found_by_doi():
    """A publication found by DOI gets the row's key as source key, even when nothing else changed."""
    _import(CSV_HEADER + CSV_ROWS)
    water = Publication.objects.get(doi="10.1234/water.2020")
    Publication.objects.filter(pk=water.pk).update(source_key="")
    report = _import(CSV_HEADER + CSV_ROWS)
    assert report.rows[0].action == "unchanged"
    water.refresh_from_db()
    assert water.source_key == "water-2020"


def test_publication_source_key_unique_when_set():
    """Two publications may both lack a source key, never share one."""
    from django.db import IntegrityError, transaction

    PublicationFactory(source_key="")
    PublicationFactory(source_key="")
    PublicationFactory(source_key="k1")
    with pytest.raises(IntegrityError), transaction.atomic():
        PublicationFactory(source_key="k1")


def test_import_same_name_authors_ambiguous_warns():
    """Same-name authors, none in the byline, no ORCID or organization: a dry-run warning; the oldest used."""
    oldest = AuthorFactory(given_name="John", family_name="Smith")
    AuthorFactory(given_name="John", family_name="Smith")
    text = CSV_HEADER + CSV_ROWS.splitlines()[1] + "\n"
    dry = _import(text, dry_run=True)
    assert dry.ok
    (row,) = dry.rows
    assert row.errors == []
    assert "authors: 2 authors are named “John Smith”" in row.warning_text
    assert f"“{oldest.slug}”, will be used" in row.warning_text
    _import(text)
    publication = Publication.objects.get(source_key="energy-2019")
    assert [a.author for a in publication.authorships.all()] == [oldest]


def test_import_same_name_author_in_byline_no_warning():
    """When the byline settles which same-name author is meant, no warning is given."""
    AuthorFactory(given_name="John", family_name="Smith")
    second = AuthorFactory(given_name="John", family_name="Smith")
    PublicationFactory(slug="energy-2019", authors=[second])
    report = _import(CSV_HEADER + CSV_ROWS.splitlines()[1] + "\n", dry_run=True)
    assert report.rows[0].warnings == []


def test_import_command_prints_warnings(tmp_path):
    """The command shows a row's warnings next to it."""
    AuthorFactory(given_name="John", family_name="Smith")
    AuthorFactory(given_name="John", family_name="Smith")
    path = tmp_path / "index.csv"
    path.write_text(CSV_HEADER + CSV_ROWS.splitlines()[1] + "\n", encoding="utf-8")
    out = StringIO()
    call_command("import_publications", str(path), "--dry-run", stdout=out)
    assert "(warning: authors: 2 authors are named “John Smith”" in out.getvalue()


def test_admin_import_preview_shows_warnings(staff_client):
    """The admin preview lists a row's warnings."""
    AuthorFactory(given_name="John", family_name="Smith")
    AuthorFactory(given_name="John", family_name="Smith")
    upload = SimpleUploadedFile("index.csv", (CSV_HEADER + CSV_ROWS.splitlines()[1] + "\n").encode())
    response = staff_client.post(reverse("admin:publications_publication_import"), {"file": upload})
    page = response.content.decode()
    assert "Warning, <strong>authors</strong>: 2 authors are named “John Smith”" in page
    assert "Confirm import" in page


# Skipping invalid rows on the admin page; all or nothing ----------------------------

BAD_ROW = "bad-1,novel,No kind,,,,2021,,,,,,,,,\n"


def test_admin_import_skip_invalid_imports_valid_rows_and_lists_skipped(staff_client):
    """With "skip invalid rows" checked, the valid rows are imported and the skipped one is listed."""
    url = reverse("admin:publications_publication_import")
    upload = SimpleUploadedFile("index.csv", (CSV_HEADER + CSV_ROWS + BAD_ROW).encode())
    response = staff_client.post(url, {"file": upload, "skip_invalid": "on"})
    page = response.content.decode()
    assert "Would create 2, would update 0, skipped 1 invalid row(s)." in page
    assert Publication.objects.count() == 0
    confirm = response.context["confirm"]
    assert confirm["skip_invalid"] is True
    response = staff_client.post(
        url, {"confirm": "1", "token": confirm["token"], "format": "csv", "skip_invalid": "on"}
    )
    page = response.content.decode()
    assert "Import finished" in page
    assert "Created 2, updated 0, skipped 1 invalid row(s)." in page
    assert '<tr class="import-skipped">' in page
    assert "Unknown kind “novel”" in page
    assert sorted(Publication.objects.values_list("source_key", flat=True)) == ["energy-2019", "water-2020"]


@pytest.mark.django_db(transaction=True)
def test_import_failure_mid_write_rolls_back(monkeypatch):
    """An error while writing the 3rd row leaves nothing stored: no publication, author or organization."""
    from authors.models import Organization
    from publications import imports

    original, calls = imports._save, []

    def failing_save(plan, writer):
        calls.append(plan.row.number)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return original(plan, writer)

    monkeypatch.setattr(imports, "_save", failing_save)
    third = 'fuel-2018,report,Fuel,"Doe, Jane",,,2018,,,,,,,,en,\n'
    with pytest.raises(RuntimeError, match="disk full"):
        _import(CSV_HEADER + CSV_ROWS + third)
    assert calls == [2, 3, 4]
    assert Publication.objects.count() == 0
    assert Author.objects.count() == 0
    assert Organization.objects.count() == 0


# ORCID and affiliation where the format carries them (CSL-JSON) ------------------


def test_round_trip_csl_json_keeps_orcid_and_affiliation(article):
    """CSL-JSON export → import into an empty database restores each author's ORCID and organization."""
    from authors.models import Organization

    text = export(for_export(Publication.objects.filter(pk=article.pk)), "json")
    second_organization = article.authorships.get(position=2).author.organization.name
    Publication.objects.all().delete()
    Author.objects.all().delete()
    Organization.objects.all().delete()
    assert _import(text, "json").created == 1
    authors = [a.author for a in Publication.objects.get().authorships.order_by("position")]
    assert [(a.family_name, a.orcid) for a in authors] == [
        ("Петрова", "0000-0002-1825-0097"),
        ("Müller-Lüdenscheidt", ""),
    ]
    assert [a.organization.name for a in authors] == ["Институт экономики РАН", second_organization]


def test_import_csl_json_crossref_author_orcid_and_affiliation():
    """A Crossref-style CSL-JSON author (``ORCID`` URL, ``affiliation`` list) gets both."""
    item = {
        "id": "x",
        "type": "article-journal",
        "title": "Caspian",
        "issued": {"date-parts": [[2020]]},
        "author": [
            {
                "given": "Anna",
                "family": "Petrova",
                "ORCID": "http://orcid.org/0000-0002-1825-0097",
                "affiliation": [{"name": "Uni Wien"}],
            }
        ],
    }
    assert _import(json.dumps([item]), "json").committed
    author = Author.objects.get()
    assert (author.orcid, author.organization.name) == ("0000-0002-1825-0097", "Uni Wien")


def test_import_csl_json_orcid_matches_existing_author():
    """An ORCID read from CSL-JSON finds the existing author, whatever the spelling of the name."""
    author = AuthorFactory(given_name="A.", family_name="Petrova", orcid="0000-0002-1825-0097")
    text = (
        '[{"id": "x", "type": "report", "title": "T", "issued": {"date-parts": [[2020]]}, '
        '"author": [{"given": "Anna", "family": "Petrova", "ORCID": "https://orcid.org/0000-0002-1825-0097"}]}]'
    )
    _import(text, "json")
    assert [a.author for a in Publication.objects.get().authorships.all()] == [author]
