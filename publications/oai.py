"""OAI-PMH 2.0 data provider: the protocol, independent of HTTP.

:func:`handle` takes the request's arguments (a list of ``(name, value)``
pairs, repeats included) and returns the response document as bytes.

- Records are the public publications (``Publication.objects.published()``),
  in ``oai_dc``. Identifiers are ``oai:<repository id>:publications/<pk>``
  (the primary key never changes, the slug might).
- The datestamp is the later of the last edit and the publication moment (a
  scheduled publication appears when it becomes visible), in UTC, to the
  second (granularity ``YYYY-MM-DDThh:mm:ssZ``; day-granular ``from`` and
  ``until`` are accepted too).
- Sets: ``theme``, ``theme:<slug>``, ``region``, ``region:<slug>``, ``kind``,
  ``kind:<kind>``.
- Lists are paged by keyset on the primary key: the resumption token (signed,
  so it cannot be forged) carries the request, the last primary key sent, the
  cursor and the complete list size. Each page is one ``pk > last`` query
  whatever its depth, so a full harvest of 100,000 records costs the same per
  page as the first. Tokens expire after ``OAI_TOKEN_MAX_AGE`` seconds.
- Deleted records: ``no``. Unpublishing or deleting a publication just drops
  it from the repository; harvesters must re-harvest fully to notice.
- Each record's XML (header and metadata) is built once per publication,
  metadata format and content version (``center.caching.cached_many``: never
  stale) and copied into the responses; the envelope, the list around the
  records and the resumption token are made per request.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core import signing
from django.db.models import Exists, Min, OuterRef, Q, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone
from lxml import etree

from center import caching
from publications import facet_index
from publications.citations import full_title, publication_url
from publications.metadata import xml_safe
from publications.models import Publication, Region, Theme
from publications.related import attach_related

OAI = "http://www.openarchives.org/OAI/2.0/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"

METADATA_FORMATS = {"oai_dc": (OAI_DC_SCHEMA, OAI_DC)}
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
DELETED_RECORD = "no"
TOKEN_SALT = "publications.oai.resumption"  # noqa: S105 - a namespace, not a secret

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# The syntax of metadata prefixes and set specs (the OAI-PMH schema's patterns).
_PREFIX = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+$")
_SET_SPEC = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$")


class OAIError(Exception):
    """A protocol error: reported in the response with its code, never as an HTTP error."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Verb:
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    exclusive: str = ""


VERBS = {
    "Identify": Verb(),
    "ListMetadataFormats": Verb(optional=frozenset({"identifier"})),
    "ListSets": Verb(exclusive="resumptionToken"),
    "GetRecord": Verb(required=frozenset({"identifier", "metadataPrefix"})),
    "ListIdentifiers": Verb(
        required=frozenset({"metadataPrefix"}),
        optional=frozenset({"from", "until", "set"}),
        exclusive="resumptionToken",
    ),
    "ListRecords": Verb(
        required=frozenset({"metadataPrefix"}),
        optional=frozenset({"from", "until", "set"}),
        exclusive="resumptionToken",
    ),
}


# Settings -------------------------------------------------------------------


def repository_identifier() -> str:
    return settings.OAI_REPOSITORY_IDENTIFIER


def page_size() -> int:
    return max(1, settings.OAI_PAGE_SIZE)


def token_max_age() -> int:
    return settings.OAI_TOKEN_MAX_AGE


# Formats --------------------------------------------------------------------


def datestamp(moment: dt.datetime) -> str:
    """``2024-05-03T12:00:00Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_identifier(publication: Publication) -> str:
    return f"oai:{repository_identifier()}:publications/{publication.pk}"


def _pk_from_identifier(identifier: str) -> int | None:
    prefix = f"oai:{repository_identifier()}:publications/"
    if identifier.startswith(prefix) and identifier[len(prefix) :].isdigit():
        number = int(identifier[len(prefix) :])
        return number if number < 2**63 else None
    return None


def _parse_date(value: str, argument: str) -> tuple[dt.datetime, str]:
    """A ``from``/``until`` value and its granularity (``day`` or ``second``)."""
    try:
        if _SECOND.fullmatch(value):
            return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC), "second"
        if _DAY.fullmatch(value):
            return dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.UTC), "day"
    except ValueError:
        pass
    raise OAIError(
        "badArgument",
        f"The '{argument}' argument must be a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDThh:mm:ssZ).",
    )


# The records ----------------------------------------------------------------


def published_records() -> QuerySet:
    """The public publications, each with its ``datestamp``."""
    return Publication.objects.published().annotate(datestamp=Greatest("updated_at", "published_at"))


def _fields(queryset: QuerySet, *, full: bool) -> QuerySet:
    """Only the columns a header (or a record) shows: never the full text."""
    if full:
        return queryset.defer("body", "pdf_text")
    return queryset.only("pk", "kind", "updated_at", "published_at")


def _set_filter(spec: str) -> Q | None:
    """The records of set ``spec``, or None when there is no such set."""
    top, _, value = spec.partition(":")
    if ":" in value:
        return None
    if top == "kind":
        if not value:
            return Q()
        return Q(kind=value) if value in Publication.Kind.values else None
    through = {"theme": Publication.themes.through, "region": Publication.regions.through}.get(top)
    if through is None:
        return None
    members = through.objects.filter(publication_id=OuterRef("pk"))
    if value:
        members = members.filter(**{f"{top}__slug": value})
    return Q(Exists(members))


def set_specs(publication: Publication) -> list[str]:
    """The sets a record belongs to (leaf sets; the top-level ones are implied)."""
    specs = [f"theme:{slug}" for slug, _ in publication.related.themes]
    specs += [f"region:{slug}" for slug, _ in publication.related.regions]
    specs.append(f"kind:{publication.kind}")
    return specs


# XML ------------------------------------------------------------------------


def _element(parent, tag: str, text: str | None = None, **attributes):
    element = etree.SubElement(parent, tag, {name: value for name, value in attributes.items() if value})
    if text is not None:
        element.text = xml_safe(text)
    return element


def _root() -> etree._Element:
    root = etree.Element(f"{{{OAI}}}OAI-PMH", nsmap={None: OAI, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI} {OAI_SCHEMA}")
    return root


def _envelope(base_url: str, arguments: dict[str, str] | None) -> etree._Element:
    root = _root()
    _element(root, f"{{{OAI}}}responseDate", datestamp(timezone.now()))
    request = _element(root, f"{{{OAI}}}request", base_url)
    for name, value in (arguments or {}).items():
        request.set(name, xml_safe(value))
    return root


def _header(parent, publication: Publication) -> None:
    header = _element(parent, f"{{{OAI}}}header")
    _element(header, f"{{{OAI}}}identifier", record_identifier(publication))
    _element(header, f"{{{OAI}}}datestamp", datestamp(publication.datestamp))
    for spec in set_specs(publication):
        _element(header, f"{{{OAI}}}setSpec", spec)


def _oai_dc(parent, publication: Publication) -> None:
    metadata = _element(parent, f"{{{OAI}}}metadata")
    dc = etree.SubElement(metadata, f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI})
    dc.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC} {OAI_DC_SCHEMA}")

    def add(name: str, value: str, lang: str = "") -> None:
        if value:
            element = _element(dc, f"{{{DC}}}{name}", value)
            if lang:
                element.set("{http://www.w3.org/XML/1998/namespace}lang", lang)

    add("title", full_title(publication), publication.language)
    for author in publication.related.authors:
        add("creator", author.sort_name)
    for _, name in publication.related.themes:
        add("subject", name)
    for word in publication.related.tags:
        add("subject", word)
    add("description", publication.abstract, publication.language)
    is_journal_article = publication.kind == Publication.Kind.ARTICLE and publication.container_title
    add("publisher", settings.SITE_NAME if not is_journal_article else publication.container_title)
    if publication.published_at:
        add("date", timezone.localtime(publication.published_at).date().isoformat())
    add("type", "Text")
    add("type", publication.get_kind_display())
    add("format", "text/html")
    if publication.pdf:
        add("format", "application/pdf")
    add("identifier", publication_url(publication))
    if publication.doi:
        add("identifier", publication.doi_url)
    add("source", _source(publication))
    add("language", publication.language)
    for _, name in publication.related.regions:
        add("coverage", name)
    add("rights", publication.license_url or publication.get_license_display())


def _source(publication: Publication) -> str:
    """``Journal of X, 12(3), 45-67``."""
    if not publication.container_title:
        return ""
    text = publication.container_title
    if publication.volume:
        text += f", {publication.volume}"
        if publication.issue:
            text += f"({publication.issue})"
    elif publication.issue:
        text += f", no. {publication.issue}"
    if publication.pages:
        text += f", {publication.pages}"
    return text


def _serialize(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# Records, once per publication, format and content version ---------------------

METADATA_WRITERS = {"oai_dc": _oai_dc}
# Where a response's records go: replaced by their XML once the rest is serialized. Text and
# attribute values are escaped (no "<"), so only this comment can read "<!--records-->".
RECORDS_MARK = "records"
_RECORDS_MARK_BYTES = b"<!--" + RECORDS_MARK.encode() + b"-->"


def _build_record(container, publication: Publication, prefix: str) -> None:
    record = _element(container, f"{{{OAI}}}record")
    _header(record, publication)
    METADATA_WRITERS[prefix](record, publication)


def _record_xml(publication: Publication, prefix: str) -> str:
    """One ``<record>`` exactly as it reads inside a response.

    lxml leaves out namespace declarations an ancestor already makes, so the
    record is built as a response builds it (in a container then put under the
    envelope's root) and cut out of that document.
    """
    root = _root()
    container = etree.Element(f"{{{OAI}}}ListRecords")
    _build_record(container, publication, prefix)
    root.append(container)
    document = etree.tostring(root, encoding="UTF-8")
    start = document.index(b"<ListRecords>") + len(b"<ListRecords>")
    end = document.rindex(b"</ListRecords>")
    return document[start:end].decode("utf-8")


def render_records(publications: list[Publication], prefix: str) -> list[str]:
    """The records of ``publications`` (``attach_related`` done) in metadata format ``prefix``."""
    return [_record_xml(publication, prefix) for publication in publications]


def records_xml(pks: list[int], prefix: str) -> list[str]:
    """The XML of the records of these public publications, in order: one cache read.

    Only the publications whose records are not cached for this content version
    are fetched (with their themes, regions, authors and tags) and rendered. A
    record that stopped being public since ``pks`` was read comes back empty.
    """
    names = {f"oai-record:{prefix}:{pk}": pk for pk in pks}

    def render(missing: list[str]) -> dict[str, str]:
        fetched = published_records().filter(pk__in=[names[name] for name in missing])
        publications = attach_related(list(_fields(fetched, full=True)), tags=True)
        xml = dict(zip([p.pk for p in publications], render_records(publications, prefix), strict=True))
        return {name: xml.get(names[name], "") for name in missing}

    # No file URLs in a record (the PDF is named by its format only): the values' usual lifetime.
    xml = caching.cached_many(list(names), render)
    return [xml[name] for name in names]


# The verbs ------------------------------------------------------------------


def _identify(container, arguments: dict[str, str]) -> None:
    identify = container
    _element(identify, f"{{{OAI}}}repositoryName", settings.SITE_NAME)
    _element(identify, f"{{{OAI}}}baseURL", base_url())
    _element(identify, f"{{{OAI}}}protocolVersion", "2.0")
    _element(identify, f"{{{OAI}}}adminEmail", settings.OAI_ADMIN_EMAIL)
    earliest = Publication.objects.published().aggregate(earliest=Min("published_at"))["earliest"]
    _element(identify, f"{{{OAI}}}earliestDatestamp", datestamp(earliest or timezone.now()))
    _element(identify, f"{{{OAI}}}deletedRecord", DELETED_RECORD)
    _element(identify, f"{{{OAI}}}granularity", GRANULARITY)


def _list_metadata_formats(container, arguments: dict[str, str]) -> None:
    if "identifier" in arguments:
        _get_publication(arguments["identifier"], full=False)
    for prefix, (schema, namespace) in METADATA_FORMATS.items():
        entry = _element(container, f"{{{OAI}}}metadataFormat")
        _element(entry, f"{{{OAI}}}metadataPrefix", prefix)
        _element(entry, f"{{{OAI}}}schema", schema)
        _element(entry, f"{{{OAI}}}metadataNamespace", namespace)


def _list_sets(container, arguments: dict[str, str]) -> None:
    if "resumptionToken" in arguments:
        # The whole list fits in one response: no token is ever issued.
        raise OAIError("badResumptionToken", "ListSets is never paged: this token is not valid.")
    sets = [("theme", "Themes"), ("region", "Regions"), ("kind", "Kinds of publication")]
    sets += [(f"theme:{slug}", name) for slug, name in Theme.objects.values_list("slug", "name")]
    sets += [(f"region:{slug}", name) for slug, name in Region.objects.values_list("slug", "name")]
    sets += [(f"kind:{value}", label) for value, label in Publication.Kind.choices]
    for spec, name in sets:
        entry = _element(container, f"{{{OAI}}}set")
        _element(entry, f"{{{OAI}}}setSpec", spec)
        _element(entry, f"{{{OAI}}}setName", name)


def _get_publication(identifier: str, *, full: bool) -> Publication:
    pk = _pk_from_identifier(identifier)
    publication = None
    if pk is not None:
        publication = _fields(published_records().filter(pk=pk), full=full).first()
    if publication is None:
        raise OAIError("idDoesNotExist", f"No record has the identifier '{identifier}'.")
    return attach_related([publication], authors=full, tags=full)[0]


def _check_prefix(prefix: str) -> None:
    if prefix not in METADATA_FORMATS:
        raise OAIError(
            "cannotDisseminateFormat",
            f"The metadata format '{prefix}' is not supported; use one of: {', '.join(METADATA_FORMATS)}.",
        )


def _get_record(container, arguments: dict[str, str]) -> list[str]:
    prefix = arguments["metadataPrefix"]
    _check_prefix(prefix)
    identifier = arguments["identifier"]
    pk = _pk_from_identifier(identifier)
    found = [] if pk is None else Publication.objects.published().filter(pk=pk).values_list("pk", flat=True)
    records = [xml for xml in records_xml(list(found), prefix) if xml]
    if not records:
        raise OAIError("idDoesNotExist", f"No record has the identifier '{identifier}'.")
    container.append(etree.Comment(RECORDS_MARK))
    return records


@dataclass
class ListState:
    """Where a list request stands: its arguments and, when resumed, the position."""

    verb: str
    prefix: str
    from_: str = ""
    until: str = ""
    set_spec: str = ""
    after_pk: int = 0
    cursor: int = 0
    total: int | None = None

    @property
    def selection(self) -> str:
        """What decides which records the list holds (a part of its cache keys)."""
        return f"{self.from_}|{self.until}|{self.set_spec}"

    def to_token(self) -> str:
        payload = [self.verb, self.prefix, self.from_, self.until, self.set_spec, self.after_pk, self.cursor]
        return signing.dumps([*payload, self.total], salt=TOKEN_SALT, compress=True)

    @classmethod
    def from_token(cls, verb: str, token: str) -> ListState:
        try:
            payload = signing.loads(token, salt=TOKEN_SALT, max_age=token_max_age())
            state = cls(*payload)
        except signing.SignatureExpired:
            raise OAIError("badResumptionToken", "This resumption token has expired.") from None
        except (signing.BadSignature, TypeError, ValueError):
            raise OAIError("badResumptionToken", "This resumption token is not valid.") from None
        if state.verb != verb:
            raise OAIError("badResumptionToken", f"This resumption token is not for {verb}.")
        return state


def _datestamp_range(state: ListState) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The selection's datestamps: from ``start`` (inclusive) up to ``end`` (exclusive), each optional."""
    start = _parse_date(state.from_, "from")[0] if state.from_ else None
    end = None
    if state.until:
        end, end_granularity = _parse_date(state.until, "until")
        # Inclusive: the whole day, or the whole second (datestamps are shown to the second).
        end += dt.timedelta(days=1) if end_granularity == "day" else dt.timedelta(seconds=1)
    return start, end


def _selection(state: ListState) -> QuerySet:
    records = published_records()
    start, end = _datestamp_range(state)
    if start:
        records = records.filter(datestamp__gte=start)
    if end:
        records = records.filter(datestamp__lt=end)
    if state.set_spec:
        condition = _set_filter(state.set_spec)
        if condition is None:
            raise OAIError("noRecordsMatch", f"There is no set '{state.set_spec}'.")
        records = records.filter(condition)
    return records


def _count(state: ListState, records: QuerySet) -> int:
    """How many records the selection holds: from the facet index (the same public publications,
    with their datestamps, kinds, themes and regions) when this process has built it, so no COUNT
    grows with the index; else in SQL."""
    index = facet_index.built()
    if index is None:
        return records.count()
    mask = np.ones(len(index), dtype=bool)
    start, end = _datestamp_range(state)
    if start:
        mask &= index.datestamp >= facet_index.microseconds(start)
    if end:
        mask &= index.datestamp < facet_index.microseconds(end)
    top, _, value = state.set_spec.partition(":")
    if top == "kind" and value:
        mask &= index.kind == index.kinds.index(value)
    elif top in ("theme", "region"):
        facet = f"{top}s"
        if value:
            mask &= index.carrying(facet, value)
        else:
            carrying = np.zeros(len(index), dtype=bool)
            carrying[getattr(index, facet).positions] = True
            mask &= carrying
    return int(mask.sum())


def _list(container, arguments: dict[str, str], *, verb: str, full: bool) -> list[str] | None:
    """A page of records (``full``) or headers; for records, their XML (the container holds the mark)."""
    if "resumptionToken" in arguments:
        state = ListState.from_token(verb, arguments["resumptionToken"])
    else:
        state = ListState(
            verb=verb,
            prefix=arguments["metadataPrefix"],
            from_=arguments.get("from", ""),
            until=arguments.get("until", ""),
            set_spec=arguments.get("set", ""),
        )
        _check_prefix(state.prefix)
    records = _selection(state)
    size = page_size()
    selected = records.filter(pk__gt=state.after_pk).order_by("pk")
    if full:
        # Only the ids, read once per page of a selection and content version: the records come
        # from the cache, and those missing are fetched by id.
        name = f"oai:ids:{state.selection}|{state.after_pk}|{size}"
        page_pks = caching.cached(name, lambda: list(selected.values_list("pk", flat=True)[: size + 1]))
    else:
        page = list(_fields(selected, full=False)[: size + 1])
        page_pks = [publication.pk for publication in page]
    has_more = len(page_pks) > size
    page_pks = page_pks[:size]
    written = None
    if full and page_pks:
        # A record that stopped being public since its id was read comes back empty.
        written = [xml for xml in records_xml(page_pks, state.prefix) if xml]
        container.append(etree.Comment(RECORDS_MARK))
    elif page_pks:
        for publication in attach_related(page[:size], authors=False):
            _header(container, publication)
    if not page_pks or (full and not written):
        raise OAIError("noRecordsMatch", "No records match these arguments.")
    if state.total is None:
        # The size of the whole list, counted once per selection and content version (a harvest
        # starts with it; at 100,000 records the count costs tens of milliseconds).
        name = f"oai:count:{state.selection}"
        state.total = len(page_pks) if not has_more else caching.cached(name, lambda: _count(state, records))
    if has_more or state.cursor:
        sent_before = state.cursor
        token = ""
        expires = ""
        if has_more:
            next_state = ListState(
                verb=state.verb,
                prefix=state.prefix,
                from_=state.from_,
                until=state.until,
                set_spec=state.set_spec,
                after_pk=page_pks[-1],
                cursor=state.cursor + len(page_pks),
                total=state.total,
            )
            token = next_state.to_token()
            expires = datestamp(timezone.now() + dt.timedelta(seconds=token_max_age()))
        element = _element(
            container,
            f"{{{OAI}}}resumptionToken",
            token,
            completeListSize=str(max(state.total, sent_before + len(page_pks))),
            cursor=str(sent_before),
            expirationDate=expires,
        )
        element.text = token
    return written


HANDLERS = {
    "Identify": _identify,
    "ListMetadataFormats": _list_metadata_formats,
    "ListSets": _list_sets,
    "GetRecord": _get_record,
    "ListIdentifiers": lambda container, arguments: _list(
        container, arguments, verb="ListIdentifiers", full=False
    ),
    "ListRecords": lambda container, arguments: _list(container, arguments, verb="ListRecords", full=True),
}


# The request ----------------------------------------------------------------


def base_url() -> str:
    from django.urls import reverse

    return f"{settings.SITE_URL.rstrip('/')}{reverse('oai')}"


def _arguments(pairs: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """The verb and the other arguments, checked against the verb's rules."""
    verbs = [value for name, value in pairs if name == "verb"]
    if len(verbs) != 1:
        raise OAIError("badVerb", "The request must name exactly one verb." if verbs else "No verb given.")
    verb = verbs[0]
    if verb not in VERBS:
        raise OAIError("badVerb", f"'{verb}' is not an OAI-PMH verb.")
    rules = VERBS[verb]
    arguments: dict[str, str] = {}
    for name, value in pairs:
        if name == "verb":
            continue
        if name in arguments:
            raise OAIError("badArgument", f"The argument '{name}' is repeated.")
        arguments[name] = value
    allowed = rules.required | rules.optional | ({rules.exclusive} if rules.exclusive else set())
    unknown = sorted(set(arguments) - allowed)
    if unknown:
        raise OAIError("badArgument", f"{verb} does not take the argument(s): {', '.join(unknown)}.")
    if rules.exclusive and rules.exclusive in arguments:
        if len(arguments) > 1:
            raise OAIError("badArgument", f"'{rules.exclusive}' is an exclusive argument.")
    else:
        missing = sorted(rules.required - set(arguments))
        if missing:
            raise OAIError("badArgument", f"{verb} needs the argument(s): {', '.join(missing)}.")
    for name in ("from", "until"):
        if name in arguments:
            _parse_date(arguments[name], name)
    if "metadataPrefix" in arguments and not _PREFIX.fullmatch(arguments["metadataPrefix"]):
        raise OAIError("badArgument", "The 'metadataPrefix' argument has an illegal syntax.")
    if "set" in arguments and not _SET_SPEC.fullmatch(arguments["set"]):
        raise OAIError("badArgument", "The 'set' argument has an illegal syntax.")
    if "from" in arguments and "until" in arguments:
        start, start_granularity = _parse_date(arguments["from"], "from")
        end, end_granularity = _parse_date(arguments["until"], "until")
        if start_granularity != end_granularity:
            raise OAIError("badArgument", "The 'from' and 'until' arguments must have the same granularity.")
        if start > end:
            raise OAIError("badArgument", "The 'from' date is later than the 'until' date.")
    return verb, arguments


def handle(pairs: list[tuple[str, str]]) -> bytes:
    """The response document to one OAI-PMH request."""
    try:
        verb, arguments = _arguments(pairs)
    except OAIError as error:
        # After badVerb or badArgument the request element carries no attributes.
        root = _envelope(base_url(), None)
        _element(root, f"{{{OAI}}}error", error.message, code=error.code)
        return _serialize(root)
    root = _envelope(base_url(), {"verb": verb, **arguments})
    container = etree.Element(f"{{{OAI}}}{verb}")
    try:
        records = HANDLERS[verb](container, arguments)
    except OAIError as error:
        if error.code == "badArgument":
            root = _envelope(base_url(), None)
        _element(root, f"{{{OAI}}}error", error.message, code=error.code)
        return _serialize(root)
    root.append(container)
    document = _serialize(root)
    if records is None:
        return document
    # The records, already XML, go where the handler left the mark.
    before, after = document.split(_RECORDS_MARK_BYTES, 1)
    return b"".join([before, *(record.encode("utf-8") for record in records), after])
