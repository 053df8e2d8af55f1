"""OAI-PMH 2.0 at /oai/: every verb, every error code, schema validity and paged harvests."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
import time_machine
from django.core import signing
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from publications import facet_index, oai
from publications.models import Publication
from publications.related import attach_related
from tests.factories import AuthorFactory, PublicationFactory, ReferenceFactory, RegionFactory, ThemeFactory

pytestmark = pytest.mark.django_db

NS = {"oai": oai.OAI, "oai_dc": oai.OAI_DC, "dc": oai.DC}
SCHEMAS = Path(__file__).parent / "schemas"


@pytest.fixture(scope="module")
def oai_schema():
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "oai-pmh-with-oai_dc.xsd")))


@pytest.fixture
def harvest(client, oai_schema):
    """GET /oai/ with these arguments; the response must be valid against the OAI-PMH schema."""

    def get(**arguments):
        response = client.get(reverse("oai"), arguments)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/xml")
        document = etree.fromstring(response.content)
        oai_schema.assertValid(document)
        return document

    return get


def _at(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC)


def _error_code(document) -> str | None:
    error = document.find("oai:error", NS)
    return error.get("code") if error is not None else None


def _identifiers(document) -> list[str]:
    return document.xpath("//oai:header/oai:identifier/text()", namespaces=NS)


def _token(document):
    return document.find(".//oai:resumptionToken", NS)


@pytest.fixture
def article():
    theme = ThemeFactory(name="Economics", slug="economics")
    region = RegionFactory(name="Central Asia", slug="central-asia")
    first = AuthorFactory(given_name="Анна", family_name="Петрова")
    second = AuthorFactory(given_name="Jörg", family_name="Müller")
    publication = PublicationFactory(
        title="Trade & <Security> in Central Asia",
        kind=Publication.Kind.ARTICLE,
        abstract="Торговля и безопасность.",
        container_title="Journal of Eurasian Policy",
        volume="12",
        issue="3",
        pages="45-67",
        doi="10.1234/jep.2021.12",
        language="ru",
        authors=[first, second],
        themes=[theme],
        regions=[region],
        tags=["trade"],
    )
    ReferenceFactory(publication=publication)
    return publication


def test_identify_describes_the_repository(harvest, settings, article):
    """Identify: name, base URL, version 2.0, earliest datestamp, deletedRecord policy, granularity."""
    document = harvest(verb="Identify")
    identify = document.find("oai:Identify", NS)
    assert identify.findtext("oai:repositoryName", namespaces=NS) == settings.SITE_NAME
    assert identify.findtext("oai:baseURL", namespaces=NS) == f"{settings.SITE_URL}/oai/"
    assert identify.findtext("oai:protocolVersion", namespaces=NS) == "2.0"
    assert identify.findtext("oai:deletedRecord", namespaces=NS) == "no"
    assert identify.findtext("oai:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    assert identify.findtext("oai:earliestDatestamp", namespaces=NS) == oai.datestamp(article.published_at)


def test_identify_answers_post(client, oai_schema):
    """Harvesters may POST form-encoded requests; no CSRF token is needed."""
    response = client.post(reverse("oai"), {"verb": "Identify"})
    document = etree.fromstring(response.content)
    oai_schema.assertValid(document)
    assert document.find("oai:Identify", NS) is not None


def test_request_element_echoes_arguments(harvest, article):
    """A valid request is echoed as attributes of <request>."""
    document = harvest(verb="ListRecords", metadataPrefix="oai_dc", set="kind:article")
    request = document.find("oai:request", NS)
    assert request.get("verb") == "ListRecords"
    assert request.get("metadataPrefix") == "oai_dc"
    assert request.get("set") == "kind:article"


def test_list_metadata_formats_offers_oai_dc(harvest):
    """ListMetadataFormats names oai_dc with its schema and namespace."""
    document = harvest(verb="ListMetadataFormats")
    formats = document.findall(".//oai:metadataFormat", NS)
    assert [item.findtext("oai:metadataPrefix", namespaces=NS) for item in formats] == ["oai_dc"]
    assert formats[0].findtext("oai:metadataNamespace", namespaces=NS) == oai.OAI_DC


def test_list_metadata_formats_for_an_identifier(harvest, article):
    """ListMetadataFormats with an existing identifier lists the formats of that record."""
    document = harvest(verb="ListMetadataFormats", identifier=oai.record_identifier(article))
    assert document.find(".//oai:metadataFormat", NS) is not None


def test_list_metadata_formats_unknown_identifier(harvest):
    """An unknown identifier gives idDoesNotExist."""
    document = harvest(verb="ListMetadataFormats", identifier="oai:nowhere:publications/1")
    assert _error_code(document) == "idDoesNotExist"


def test_list_sets_lists_themes_regions_and_kinds(harvest, article):
    """ListSets: the top-level sets and one per theme, region and kind."""
    document = harvest(verb="ListSets")
    specs = document.xpath("//oai:set/oai:setSpec/text()", namespaces=NS)
    assert {"theme", "region", "kind", "theme:economics", "region:central-asia", "kind:article"} <= set(specs)
    names = dict(zip(specs, document.xpath("//oai:set/oai:setName/text()", namespaces=NS), strict=True))
    assert names["theme:economics"] == "Economics"


def test_list_sets_with_a_resumption_token_is_bad(harvest):
    """ListSets is never paged: any token is badResumptionToken."""
    document = harvest(verb="ListSets", resumptionToken="anything")
    assert _error_code(document) == "badResumptionToken"


def test_get_record_returns_oai_dc(harvest, settings, article):
    """GetRecord: header with datestamp and sets, oai_dc with authors in order, DOI, source."""
    document = harvest(verb="GetRecord", identifier=oai.record_identifier(article), metadataPrefix="oai_dc")
    record = document.find(".//oai:record", NS)
    header = record.find("oai:header", NS)
    assert header.findtext("oai:identifier", namespaces=NS) == oai.record_identifier(article)
    assert header.findtext("oai:datestamp", namespaces=NS) == oai.datestamp(article.updated_at)
    assert set(header.xpath("oai:setSpec/text()", namespaces=NS)) == {
        "theme:economics",
        "region:central-asia",
        "kind:article",
    }
    dc = record.find(".//oai_dc:dc", NS)
    assert dc.findtext("dc:title", namespaces=NS) == "Trade & <Security> in Central Asia"
    assert dc.xpath("dc:creator/text()", namespaces=NS) == ["Петрова, Анна", "Müller, Jörg"]
    identifiers = dc.xpath("dc:identifier/text()", namespaces=NS)
    assert f"{settings.SITE_URL}{article.get_absolute_url()}" in identifiers
    assert "https://doi.org/10.1234/jep.2021.12" in identifiers
    assert dc.findtext("dc:source", namespaces=NS) == "Journal of Eurasian Policy, 12(3), 45-67"
    assert dc.findtext("dc:language", namespaces=NS) == "ru"
    assert dc.findtext("dc:date", namespaces=NS) == timezone.localdate(article.published_at).isoformat()
    assert set(dc.xpath("dc:subject/text()", namespaces=NS)) == {"Economics", "trade"}
    assert dc.findtext("dc:coverage", namespaces=NS) == "Central Asia"


def test_get_record_of_a_draft_does_not_exist(harvest):
    """Drafts and scheduled publications are not in the repository."""
    draft = PublicationFactory(status=Publication.Status.DRAFT)
    scheduled = PublicationFactory(published_at=timezone.now() + dt.timedelta(days=3))
    for publication in (draft, scheduled):
        document = harvest(
            verb="GetRecord", identifier=oai.record_identifier(publication), metadataPrefix="oai_dc"
        )
        assert _error_code(document) == "idDoesNotExist"


@pytest.mark.parametrize(
    "identifier", ["nonsense", "oai:other.org:publications/1", "oai:x:publications/9e99"]
)
def test_get_record_malformed_identifier(harvest, identifier):
    """Identifiers that are not ours give idDoesNotExist."""
    document = harvest(verb="GetRecord", identifier=identifier, metadataPrefix="oai_dc")
    assert _error_code(document) == "idDoesNotExist"


def test_get_record_unknown_format(harvest, article):
    """A metadata format we do not have gives cannotDisseminateFormat."""
    document = harvest(verb="GetRecord", identifier=oai.record_identifier(article), metadataPrefix="marc21")
    assert _error_code(document) == "cannotDisseminateFormat"


def test_list_records_unknown_format(harvest, article):
    """ListRecords in an unknown format gives cannotDisseminateFormat."""
    document = harvest(verb="ListRecords", metadataPrefix="mods")
    assert _error_code(document) == "cannotDisseminateFormat"


def test_list_identifiers_returns_headers_only(harvest, article):
    """ListIdentifiers lists headers and no metadata."""
    document = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert _identifiers(document) == [oai.record_identifier(article)]
    assert document.find(".//oai:metadata", NS) is None


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"verb": "Explode"},
        {"verb": ["Identify", "Identify"]},
    ],
    ids=["missing", "unknown", "repeated"],
)
def test_bad_verb(harvest, client, oai_schema, arguments):
    """A missing, unknown or repeated verb gives badVerb and a bare <request>."""
    response = client.get(reverse("oai"), arguments)
    document = etree.fromstring(response.content)
    oai_schema.assertValid(document)
    assert _error_code(document) == "badVerb"
    assert document.find("oai:request", NS).attrib == {}


@pytest.mark.parametrize(
    "arguments",
    [
        {"verb": "Identify", "set": "x"},
        {"verb": "GetRecord", "metadataPrefix": "oai_dc"},
        {"verb": "GetRecord", "identifier": "oai:x:publications/1"},
        {"verb": "ListRecords"},
        {"verb": "ListIdentifiers", "metadataPrefix": ["oai_dc", "oai_dc"]},
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "yesterday"},
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "until": "2024-13-45"},
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-01-01T00:00:00"},
        {
            "verb": "ListRecords",
            "metadataPrefix": "oai_dc",
            "from": "2024-01-01",
            "until": "2024-02-01T00:00:00Z",
        },
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-02-01", "until": "2024-01-01"},
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "resumptionToken": "abc"},
        {"verb": "ListRecords", "metadataPrefix": "oai dc"},
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "theme:<script>"},
        {"verb": "ListMetadataFormats", "metadataPrefix": "oai_dc"},
    ],
    ids=[
        "unknown-argument",
        "missing-identifier",
        "missing-prefix",
        "missing-prefix-list",
        "repeated-argument",
        "bad-from",
        "impossible-until",
        "from-without-z",
        "mixed-granularity",
        "from-after-until",
        "token-not-exclusive",
        "prefix-syntax",
        "set-syntax",
        "formats-with-prefix",
    ],
)
def test_bad_argument(client, oai_schema, arguments):
    """Illegal, missing, repeated or malformed arguments give badArgument and a bare <request>."""
    response = client.get(reverse("oai"), arguments)
    assert response.status_code == 200
    document = etree.fromstring(response.content)
    oai_schema.assertValid(document)
    assert _error_code(document) == "badArgument"
    assert document.find("oai:request", NS).attrib == {}


@pytest.mark.parametrize(
    "make_token",
    [
        lambda: "garbage",
        lambda: "",
        lambda: "x" * 500,
        lambda: signing.dumps(["ListRecords"], salt="other"),
    ],
    ids=["garbage", "empty", "long", "signed-with-another-salt"],
)
def test_bad_resumption_token(harvest, make_token):
    """Forged, malformed or empty tokens give badResumptionToken."""
    # Tokens are built in the test, not at collection: a signed token carries a timestamp,
    # and xdist workers must collect the same test ids.
    document = harvest(verb="ListRecords", resumptionToken=make_token())
    assert _error_code(document) == "badResumptionToken"


def test_resumption_token_of_another_verb(harvest, settings):
    """A ListIdentifiers token is refused by ListRecords."""
    settings.OAI_PAGE_SIZE = 1
    PublicationFactory.create_batch(2)
    token = _token(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")).text
    document = harvest(verb="ListRecords", resumptionToken=token)
    assert _error_code(document) == "badResumptionToken"


def test_resumption_token_expires(harvest, settings):
    """A token older than OAI_TOKEN_MAX_AGE gives badResumptionToken."""
    settings.OAI_PAGE_SIZE = 1
    settings.OAI_TOKEN_MAX_AGE = 60
    PublicationFactory.create_batch(2)
    token = _token(harvest(verb="ListRecords", metadataPrefix="oai_dc")).text
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        document = harvest(verb="ListRecords", resumptionToken=token)
    assert _error_code(document) == "badResumptionToken"


def test_no_records_match_in_an_empty_repository(harvest):
    """An empty list gives noRecordsMatch, not an empty container."""
    document = harvest(verb="ListRecords", metadataPrefix="oai_dc")
    assert _error_code(document) == "noRecordsMatch"


def test_no_records_match_an_unknown_set(harvest, article):
    """A set that does not exist has no records."""
    for spec in ("theme:nothing", "planet:mars", "kind:poem"):
        document = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", set=spec)
        assert _error_code(document) == "noRecordsMatch"


def test_sets_select_records(harvest, article):
    """Theme, region, kind and top-level sets select their records."""
    other = PublicationFactory(kind=Publication.Kind.BLOG_POST)
    ours, theirs = oai.record_identifier(article), oai.record_identifier(other)
    expected = {
        "theme:economics": [ours],
        "theme": [ours],
        "region:central-asia": [ours],
        "region": [ours],
        "kind:article": [ours],
        "kind:blog": [theirs],
        "kind": sorted([ours, theirs], key=lambda value: int(value.rsplit("/", 1)[1])),
    }
    for spec, identifiers in expected.items():
        assert _identifiers(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", set=spec)) == identifiers


def test_from_until_select_by_datestamp(harvest):
    """from and until (day and second granularity) select by datestamp, both inclusive."""
    with time_machine.travel(_at("2024-01-10T12:00:00"), tick=False):
        old = PublicationFactory(published_at=_at("2024-01-05T00:00:00"))
    with time_machine.travel(_at("2024-03-10T08:30:15"), tick=False):
        new = PublicationFactory(published_at=_at("2024-03-01T00:00:00"))
    old_id, new_id = oai.record_identifier(old), oai.record_identifier(new)

    def listed(**arguments):
        document = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", **arguments)
        return _identifiers(document) if _error_code(document) is None else []

    assert listed(**{"from": "2024-01-10"}) == [old_id, new_id]
    assert listed(**{"from": "2024-01-11"}) == [new_id]
    assert listed(until="2024-01-10") == [old_id]
    assert listed(until="2024-01-09") == []
    assert listed(**{"from": "2024-03-10T08:30:15Z"}) == [new_id]
    assert listed(**{"from": "2024-03-10T08:30:16Z"}) == []
    assert listed(until="2024-03-10T08:30:15Z") == [old_id, new_id]
    assert listed(until="2024-03-10T08:30:14Z") == [old_id]
    assert listed(**{"from": "2024-02-01", "until": "2024-02-28"}) == []


def test_scheduled_publication_datestamp_is_its_publication_moment(harvest):
    """A scheduled item appears with the moment it became visible, so incremental harvests get it."""
    with time_machine.travel(_at("2024-01-01T00:00:00"), tick=False):
        publication = PublicationFactory(published_at=_at("2024-02-01T09:00:00"))
    with time_machine.travel(_at("2024-02-02T00:00:00"), tick=False):
        document = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": "2024-01-15"})
    assert _identifiers(document) == [oai.record_identifier(publication)]
    assert document.findtext(".//oai:datestamp", namespaces=NS) == "2024-02-01T09:00:00Z"


@pytest.mark.parametrize("verb", ["ListRecords", "ListIdentifiers"])
def test_full_paged_harvest_returns_each_record_once(harvest, settings, verb):
    """Following resumption tokens delivers every public record exactly once, with a right cursor."""
    settings.OAI_PAGE_SIZE = 3
    publications = PublicationFactory.create_batch(10)
    PublicationFactory(status=Publication.Status.DRAFT)
    seen, cursors = [], []
    document = harvest(verb=verb, metadataPrefix="oai_dc")
    while True:
        seen += _identifiers(document)
        token = _token(document)
        assert token is not None
        assert token.get("completeListSize") == "10"
        cursors.append(int(token.get("cursor")))
        if not token.text:
            break
        document = harvest(verb=verb, resumptionToken=token.text)
    assert sorted(seen) == sorted(oai.record_identifier(item) for item in publications)
    assert len(seen) == len(set(seen)) == 10
    assert cursors == [0, 3, 6, 9]


def test_list_size_counted_once_per_selection_and_content_version(
    harvest, settings, django_assert_max_num_queries
):
    """The first page's completeListSize is counted once per selection and content version; a new
    record or another set counts again at once."""
    settings.OAI_PAGE_SIZE = 2
    settings.PAGE_CACHE_SECONDS = 0
    theme = ThemeFactory(slug="energy")
    PublicationFactory.create_batch(3, themes=[theme])
    PublicationFactory.create_batch(2)
    assert _token(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")).get("completeListSize") == "5"
    with django_assert_max_num_queries(3) as queries:  # the page's headers; the size is cached
        document = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert _token(document).get("completeListSize") == "5"
    assert not any("COUNT(" in query["sql"] for query in queries.captured_queries)
    assert (
        _token(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", set="theme:energy")).get(
            "completeListSize"
        )
        == "3"
    )
    PublicationFactory()
    assert _token(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")).get("completeListSize") == "6"


def test_single_page_has_no_resumption_token(harvest, settings):
    """A list that fits in one page carries no resumptionToken."""
    settings.OAI_PAGE_SIZE = 5
    PublicationFactory.create_batch(5)
    assert _token(harvest(verb="ListRecords", metadataPrefix="oai_dc")) is None


def test_paged_harvest_keeps_set_and_dates(harvest, settings):
    """Resumed pages keep the set and date range of the first request."""
    settings.OAI_PAGE_SIZE = 2
    theme = ThemeFactory(slug="energy")
    inside = PublicationFactory.create_batch(5, themes=[theme])
    PublicationFactory.create_batch(4)
    seen = []
    document = harvest(
        verb="ListIdentifiers", metadataPrefix="oai_dc", set="theme:energy", until="2999-01-01"
    )
    while True:
        seen += _identifiers(document)
        token = _token(document)
        if token is None or not token.text:
            break
        document = harvest(verb="ListIdentifiers", resumptionToken=token.text)
    assert sorted(seen) == sorted(oai.record_identifier(item) for item in inside)


def test_paged_harvest_survives_deletions(harvest, settings):
    """Deleting an already-sent record mid-harvest neither repeats nor skips the others (keyset)."""
    settings.OAI_PAGE_SIZE = 2
    publications = PublicationFactory.create_batch(6)
    expected = sorted(oai.record_identifier(item) for item in publications)
    document = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")
    seen = _identifiers(document)
    publications[0].delete()
    document = harvest(verb="ListIdentifiers", resumptionToken=_token(document).text)
    while True:
        seen += _identifiers(document)
        token = _token(document)
        if not token.text:
            break
        document = harvest(verb="ListIdentifiers", resumptionToken=token.text)
    assert sorted(seen) == expected


def test_hostile_text_is_escaped(harvest):
    """Markup and control characters in titles come out as valid, escaped XML."""
    publication = PublicationFactory(title="</dc:title><script>alert(1)</script>\x0b & more")
    document = harvest(
        verb="GetRecord", identifier=oai.record_identifier(publication), metadataPrefix="oai_dc"
    )
    assert document.findtext(".//dc:title", namespaces=NS) == "</dc:title><script>alert(1)</script> & more"


@pytest.mark.parametrize("size", [3, 12])
def test_list_records_query_count_is_constant(client, settings, django_assert_max_num_queries, size):
    """A ListRecords page costs the same number of queries whatever its length."""
    settings.OAI_PAGE_SIZE = 20
    for _ in range(size):
        PublicationFactory(
            authors=[AuthorFactory(), AuthorFactory()],
            themes=[ThemeFactory()],
            regions=[RegionFactory()],
            tags=["a"],
        )
    with django_assert_max_num_queries(7):
        response = client.get(reverse("oai"), {"verb": "ListRecords", "metadataPrefix": "oai_dc"})
    assert response.content.count(b"<record>") == size


def test_resumed_page_runs_no_count(client, settings, django_assert_max_num_queries):
    """Later pages reuse the list size carried in the token: no COUNT over the whole selection."""
    settings.OAI_PAGE_SIZE = 2
    PublicationFactory.create_batch(5)
    first = etree.fromstring(
        client.get(reverse("oai"), {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}).content
    )
    with django_assert_max_num_queries(3) as context:
        client.get(reverse("oai"), {"verb": "ListIdentifiers", "resumptionToken": _token(first).text})
    assert not any("COUNT(" in query["sql"].upper() for query in context.captured_queries)


def test_head_and_other_methods(client):
    """HEAD works; PUT is refused with 405."""
    assert client.head(reverse("oai"), {"verb": "Identify"}).status_code == 200
    assert client.put(reverse("oai")).status_code == 405


def test_full_harvest_of_the_demo_index(harvest, settings):
    """A paged ListRecords harvest of a seeded demo index returns each public record exactly once."""
    call_command("seed_demo", publications=300, stdout=io.StringIO())
    settings.OAI_PAGE_SIZE = 37
    expected = {
        f"oai:{settings.OAI_REPOSITORY_IDENTIFIER}:publications/{pk}"
        for pk in Publication.objects.published().values_list("pk", flat=True)
    }
    seen = []
    document = harvest(verb="ListRecords", metadataPrefix="oai_dc")
    while True:
        seen += _identifiers(document)
        token = _token(document)
        if not token.text:
            break
        document = harvest(verb="ListRecords", resumptionToken=token.text)
    assert len(expected) == 300
    assert len(seen) == len(set(seen)) == 300
    assert set(seen) == expected
    assert int(token.get("completeListSize")) == 300


# Cached records --------------------------------------------------------------------------------


@pytest.fixture
def rendered(monkeypatch):
    """The publications whose records were rendered, one list per rendering."""
    calls = []
    real = oai.render_records

    def spy(publications, prefix):
        calls.append([publication.pk for publication in publications])
        return real(publications, prefix)

    monkeypatch.setattr(oai, "render_records", spy)
    return calls


def _records(**arguments) -> list[tuple[str, str]]:
    return [("verb", arguments.pop("verb")), *arguments.items()]


def _reference(pairs: list[tuple[str, str]], pks: list[int]) -> bytes:
    """The response as it was built before records were cached: every record in one lxml tree."""
    root = oai._envelope(oai.base_url(), dict(pairs))
    container = etree.Element(f"{{{oai.OAI}}}{pairs[0][1]}")
    publications = oai._fields(oai.published_records().filter(pk__in=pks), full=True).order_by("pk")
    for publication in attach_related(list(publications), tags=True):
        oai._build_record(container, publication, "oai_dc")
    root.append(container)
    return oai._serialize(root)


@pytest.mark.usefixtures("page_cache_off")
def test_cached_records_are_byte_identical_to_uncached(client, settings, article):
    """ListRecords and GetRecord read the same with the record cache off, cold and warm, as one tree."""
    hostile = PublicationFactory(
        title="</dc:title><script>x</script>\x0b & more", subtitle="Ünïcödé: “quotes”", tags=["b", "a"]
    )
    PublicationFactory(kind=Publication.Kind.BOOK, authors=[AuthorFactory(given_name="")])
    pks = list(Publication.objects.published().order_by("pk").values_list("pk", flat=True))
    requests = [
        _records(verb="ListRecords", metadataPrefix="oai_dc"),
        _records(verb="GetRecord", identifier=oai.record_identifier(hostile), metadataPrefix="oai_dc"),
        _records(verb="GetRecord", identifier=oai.record_identifier(article), metadataPrefix="oai_dc"),
    ]
    expected = [pks, [hostile.pk], [article.pk]]
    with time_machine.travel(timezone.now(), tick=False):
        references = [_reference(pairs, wanted) for pairs, wanted in zip(requests, expected, strict=True)]
        settings.VALUE_CACHE_SECONDS = 0
        uncached = [client.get(reverse("oai"), dict(pairs)).content for pairs in requests]
        settings.VALUE_CACHE_SECONDS = 3600
        cold = [client.get(reverse("oai"), dict(pairs)).content for pairs in requests]
        warm = [client.get(reverse("oai"), dict(pairs)).content for pairs in requests]
    assert uncached == references
    assert cold == references
    assert warm == references
    assert references[0].count(b"<record>") == 3


@pytest.mark.usefixtures("page_cache_off")
def test_cached_pages_are_byte_identical_along_a_harvest(client, settings):
    """Every page of a paged harvest, resumption tokens included, reads the same cached or not."""
    settings.OAI_PAGE_SIZE = 2
    PublicationFactory.create_batch(5, authors=[AuthorFactory()], themes=[ThemeFactory()])

    def harvest_pages() -> list[bytes]:
        pages, arguments = [], {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
        while arguments:
            pages.append(client.get(reverse("oai"), arguments).content)
            token = _token(etree.fromstring(pages[-1]))
            arguments = {"verb": "ListRecords", "resumptionToken": token.text} if token.text else None
        return pages

    with time_machine.travel(timezone.now(), tick=False):
        settings.VALUE_CACHE_SECONDS = 0
        uncached = harvest_pages()
        settings.VALUE_CACHE_SECONDS = 3600
        assert harvest_pages() == uncached
        assert harvest_pages() == uncached
    assert len(uncached) == 3


@pytest.mark.usefixtures("page_cache_off")
def test_second_list_records_renders_no_record(client, rendered, django_assert_num_queries):
    """Once rendered, a page of records costs no query (its ids are cached too) and renders nothing."""
    PublicationFactory.create_batch(3, authors=[AuthorFactory()], themes=[ThemeFactory()], tags=["a"])
    arguments = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    first = client.get(reverse("oai"), arguments)
    assert len(rendered) == 1 and len(rendered[0]) == 3
    with django_assert_num_queries(0):
        second = client.get(reverse("oai"), arguments)
    assert len(rendered) == 1
    assert second.content.count(b"<record>") == 3
    assert second.content.split(b"</responseDate>")[1] == first.content.split(b"</responseDate>")[1]


@pytest.mark.usefixtures("page_cache_off")
def test_second_get_record_renders_no_record(
    client, article, rendered, django_assert_num_queries, django_assert_max_num_queries
):
    """Once rendered, GetRecord costs one query (is the record public?) instead of six."""
    arguments = {
        "verb": "GetRecord",
        "identifier": oai.record_identifier(article),
        "metadataPrefix": "oai_dc",
    }
    with django_assert_max_num_queries(6):
        client.get(reverse("oai"), arguments)
    assert rendered == [[article.pk]]
    with django_assert_num_queries(1):
        response = client.get(reverse("oai"), arguments)
    assert rendered == [[article.pk]]
    assert b"Journal of Eurasian Policy, 12(3), 45-67" in response.content


@pytest.mark.usefixtures("page_cache_off")
@pytest.mark.parametrize("size", [3, 12])
def test_cached_list_records_query_count_is_constant(client, settings, django_assert_num_queries, size):
    """A ListRecords page whose ids and records are cached costs no query, whatever its length."""
    settings.OAI_PAGE_SIZE = 20
    for _ in range(size):
        PublicationFactory(authors=[AuthorFactory(), AuthorFactory()], themes=[ThemeFactory()], tags=["a"])
    arguments = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    client.get(reverse("oai"), arguments)
    with django_assert_num_queries(0):
        response = client.get(reverse("oai"), arguments)
    assert response.content.count(b"<record>") == size


@pytest.mark.usefixtures("page_cache_off")
def test_only_missing_records_are_fetched_and_rendered(client, article, rendered):
    """A record cached by GetRecord is reused by ListRecords, which renders only the others."""
    other = PublicationFactory()
    client.get(
        reverse("oai"),
        {"verb": "GetRecord", "identifier": oai.record_identifier(article), "metadataPrefix": "oai_dc"},
    )
    response = client.get(reverse("oai"), {"verb": "ListRecords", "metadataPrefix": "oai_dc"})
    assert rendered == [[article.pk], [other.pk]]
    assert _identifiers(etree.fromstring(response.content)) == [
        oai.record_identifier(article),
        oai.record_identifier(other),
    ]


@pytest.mark.usefixtures("page_cache_off")
def test_records_render_on_every_request_without_the_value_cache(client, settings, article, rendered):
    """With VALUE_CACHE_SECONDS=0 every request renders its records."""
    settings.VALUE_CACHE_SECONDS = 0
    for _ in range(2):
        client.get(reverse("oai"), {"verb": "ListRecords", "metadataPrefix": "oai_dc"})
    assert rendered == [[article.pk], [article.pk]]


def test_record_of_a_publication_no_longer_public_is_empty():
    """A record asked for after its publication left the repository comes back empty, not stale."""
    publication = PublicationFactory()
    [record] = oai.records_xml([publication.pk], "oai_dc")
    assert oai.record_identifier(publication) in record
    publication.status = Publication.Status.DRAFT
    publication.save()
    assert oai.records_xml([publication.pk], "oai_dc") == [""]


# Every content change shows at once, in ListRecords and GetRecord.


def _rename_author(publication):
    author = publication.authorships.get().author
    author.family_name = "Sokolova"
    author.save()
    return ["Sokolova, Irina"], ["Volkova"]


def _rename_theme(publication):
    theme = publication.themes.get()
    theme.name = "Energy security"
    theme.slug = "energy-security"
    theme.save()
    return ["<dc:subject>Energy security</dc:subject>", "<setSpec>theme:energy-security</setSpec>"], [
        "theme:energy<"
    ]


def _edit(publication):
    publication.title = "A new title"
    publication.save()
    return ["A new title"], ["An old title"]


def _unpublish(publication):
    publication.status = Publication.Status.DRAFT
    publication.save()
    return [], [f"<identifier>{oai.record_identifier(publication)}</identifier>"]


def _delete(publication):
    identifier = oai.record_identifier(publication)
    publication.delete()
    return [], [f"<identifier>{identifier}</identifier>"]


CHANGES = {
    "edit": _edit,
    "unpublish": _unpublish,
    "author-rename": _rename_author,
    "theme-rename": _rename_theme,
    "delete": _delete,
}


@pytest.fixture
def watched():
    """A public publication whose record is cached, and a neighbour that keeps ListRecords non-empty."""
    PublicationFactory(title="A neighbour")
    return PublicationFactory(
        title="An old title",
        authors=[AuthorFactory(given_name="Irina", family_name="Volkova")],
        themes=[ThemeFactory(name="Energy", slug="energy")],
    )


def _oai_text(client, verb: str, publication) -> str:
    if verb == "GetRecord":
        arguments = {"identifier": oai.record_identifier(publication), "metadataPrefix": "oai_dc"}
    else:
        arguments = {"metadataPrefix": "oai_dc"}
    return client.get(reverse("oai"), {"verb": verb, **arguments}).content.decode()


@pytest.mark.usefixtures("page_cache_off")
@pytest.mark.parametrize("verb", ["ListRecords", "GetRecord"])
@pytest.mark.parametrize("change", list(CHANGES))
def test_record_shows_every_change_at_once(client, watched, verb, change):
    """Edits, unpublishing, deletion, author and theme renames reach the cached records at once."""
    before = _oai_text(client, verb, watched)
    assert "An old title" in before and "Volkova, Irina" in before and "theme:energy<" in before
    shown, gone = CHANGES[change](watched)
    after = _oai_text(client, verb, watched)
    for text in shown:
        assert text in after
    for text in gone:
        assert text not in after
    if change in ("unpublish", "delete") and verb == "GetRecord":
        assert 'code="idDoesNotExist"' in after


@pytest.mark.usefixtures("page_cache_off")
@pytest.mark.parametrize("verb", ["ListRecords", "GetRecord"])
def test_scheduled_record_appears_when_due(client, verb):
    """A scheduled publication's record is served the moment it is due, by both verbs."""
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        PublicationFactory(title="Already out")
        scheduled = PublicationFactory(title="Brief on Lithium", published_at=now + dt.timedelta(hours=2))
        header = f"<identifier>{oai.record_identifier(scheduled)}</identifier>"
        assert header not in _oai_text(client, verb, scheduled)
    with time_machine.travel(now + dt.timedelta(hours=2, seconds=1), tick=False):
        text = _oai_text(client, verb, scheduled)
    assert header in text
    assert "Brief on Lithium" in text


@pytest.mark.usefixtures("page_cache_off")
def test_list_records_shows_a_new_record_at_once(client, watched):
    """A page's ids are cached per content version: a record published since is listed at once."""
    assert "A newcomer" not in _oai_text(client, "ListRecords", watched)
    PublicationFactory(title="A newcomer")
    assert "A newcomer" in _oai_text(client, "ListRecords", watched)


def test_list_size_from_the_facet_index_is_the_sql_count(harvest, settings):
    """With the value cache off and the facet index built, completeListSize comes from the index
    (no COUNT), for every kind of selection, and equals what SQL counts."""
    settings.OAI_PAGE_SIZE = 1
    settings.PAGE_CACHE_SECONDS = 0
    settings.VALUE_CACHE_SECONDS = 0
    energy, water = ThemeFactory(slug="energy"), ThemeFactory(slug="water")
    region = RegionFactory(slug="arctic")
    for day, themes, kind in [
        (1, [energy], Publication.Kind.REPORT),
        (3, [energy, water], Publication.Kind.ARTICLE),
        (5, [], Publication.Kind.REPORT),
        (9, [water], Publication.Kind.BLOG_POST),
    ]:
        with time_machine.travel(_at(f"2024-03-0{day}T10:00:00"), tick=False):
            PublicationFactory(
                published_at=_at(f"2024-03-0{day}T10:00:00"),
                themes=themes,
                kind=kind,
                regions=[region] * (day > 4),
            )
    PublicationFactory(status=Publication.Status.DRAFT, themes=[energy])
    facet_index.current()
    selections = [
        {},
        {"from": "2024-03-03"},
        {"until": "2024-03-05"},
        {"from": "2024-03-03T10:00:00Z", "until": "2024-03-05T10:00:00Z"},
        {"set": "theme"},
        {"set": "theme:energy"},
        {"set": "region"},
        {"set": "kind:report"},
        {"set": "kind", "from": "2024-03-02"},
    ]
    for selection in selections:
        state = oai.ListState(
            verb="ListIdentifiers",
            prefix="oai_dc",
            from_=selection.get("from", ""),
            until=selection.get("until", ""),
            set_spec=selection.get("set", ""),
        )
        expected = oai._selection(state).count()
        assert expected >= 2, selection
        with CaptureQueriesContext(connection) as queries:
            document = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc", **selection)
        assert _token(document).get("completeListSize") == str(expected), selection
        assert not [query for query in queries if "COUNT(" in query["sql"]], selection
