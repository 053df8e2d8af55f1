"""The demo index: a deterministic, realistic research center's catalogue.

``DemoIndexBuilder(publications=5821, seed=1).build()`` fills an empty
database with themes, regions, tags, organizations, authors and publications
(with authorships, references and shared demo PDFs) using bulk inserts, so
that 5,821 publications take seconds and 100,000 a few minutes.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from taggit.models import Tag, TaggedItem

from authors.models import Author, Organization
from center.identifiers import orcid_checksum
from publications import demo_vocabulary as words
from publications.demo_pdf import build_pdf
from publications.models import (
    Authorship,
    Language,
    License,
    Publication,
    Reference,
    Region,
    Theme,
)

DEFAULT_PUBLICATIONS = 5821
AUTHORS_PER_PUBLICATION = 1200 / DEFAULT_PUBLICATIONS
DEMO_PDF_COUNT = 36
CHUNK = 5000

KIND_WEIGHTS = {
    Publication.Kind.ARTICLE: 30,
    Publication.Kind.REPORT: 25,
    Publication.Kind.COMMENTARY: 15,
    Publication.Kind.BLOG_POST: 15,
    Publication.Kind.WORKING_PAPER: 10,
    Publication.Kind.BOOK: 5,
}
KINDS_WITH_PDF = {
    Publication.Kind.ARTICLE,
    Publication.Kind.REPORT,
    Publication.Kind.WORKING_PAPER,
    Publication.Kind.BOOK,
}
FIRST_DAY = dt.date(1990, 1, 1)
LAST_DAY = dt.date(2026, 10, 31)


@dataclass
class DemoIndexCounts:
    publications: int = 0
    unpublished: int = 0
    authors: int = 0
    organizations: int = 0
    themes: int = 0
    regions: int = 0
    tags: int = 0
    references: int = 0
    pdfs: int = 0
    extra: dict = field(default_factory=dict)


class DemoIndexBuilder:
    """Builds the demo index; the same ``seed`` gives the same content."""

    def __init__(
        self,
        *,
        publications: int = DEFAULT_PUBLICATIONS,
        seed: int = 1,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.total = publications
        self.rng = random.Random(seed)  # noqa: S311 - reproducible demo content, not security
        self.progress = progress or (lambda message: None)
        self.counts = DemoIndexCounts()
        self.used_slugs: set[str] = set()

    # Public entry point

    def build(self) -> DemoIndexCounts:
        with transaction.atomic():
            self._build_vocabularies()
            self._build_people()
            self._write_pdfs()
            self._build_publications()
            self._build_unpublished()
        self._reset_sequences()
        return self.counts

    # Vocabularies

    def _build_vocabularies(self) -> None:
        self.themes = Theme.objects.bulk_create(
            Theme(name=name, slug=slugify(name), description=text) for name, text in words.THEMES.items()
        )
        self.regions = Region.objects.bulk_create(
            Region(name=name, slug=slugify(name), description=text) for name, text in words.REGIONS.items()
        )
        self.themes = list(Theme.objects.order_by("pk"))
        self.regions = list(Region.objects.order_by("pk"))
        tag_names = list(dict.fromkeys(words.TAG_WORDS))
        tag_names += [subject.lower() for subjects in words.SUBJECTS.values() for subject in subjects]
        suffixes = ["policy", "reform", "outlook", "cooperation", "crisis"]
        base = list(dict.fromkeys(tag_names))
        candidates = list(base)
        for suffix in suffixes:
            candidates += [f"{name} {suffix}" for name in words.TAG_WORDS]
        unique: dict[str, str] = {}
        for name in candidates:
            slug = slugify(name)
            if slug and slug not in unique.values() and name.lower() not in {n.lower() for n in unique}:
                unique[name] = slug
            if len(unique) == 300:
                break
        Tag.objects.bulk_create(Tag(name=name, slug=slug) for name, slug in unique.items())
        self.tags = list(Tag.objects.order_by("pk"))
        self.counts.themes, self.counts.regions, self.counts.tags = (
            len(self.themes),
            len(self.regions),
            len(self.tags),
        )
        self.progress(f"{len(self.themes)} themes, {len(self.regions)} regions, {len(self.tags)} tags")

    def _build_people(self) -> None:
        rng = self.rng
        pairs = [(stem, city) for stem in words.ORGANIZATION_STEMS for city in words.CITIES]
        rng.shuffle(pairs)
        organizations = []
        for stem, (city, country) in pairs[:60]:
            organizations.append(
                Organization(
                    name=stem,
                    city=city,
                    country=country,
                    website=f"https://{slugify(stem)}-{slugify(city)}.example.org/",
                )
            )
        Organization.objects.bulk_create(organizations)
        self.organizations = list(Organization.objects.order_by("pk"))

        author_total = max(20, round(self.total * AUTHORS_PER_PUBLICATION))
        authors = []
        slugs: set[str] = set()
        for index in range(author_total):
            given = rng.choice(words.GIVEN_NAMES)
            family = rng.choice(words.FAMILY_NAMES)
            slug = base = slugify(f"{given} {family}")
            suffix = 2
            while slug in slugs:
                slug = f"{base}-{suffix}"
                suffix += 1
            slugs.add(slug)
            organization = rng.choice(self.organizations)
            orcid = ""
            if rng.random() < 0.45:
                digits = f"00000002{index:07d}"
                orcid = f"{digits[:4]}-{digits[4:8]}-{digits[8:12]}-{digits[12:15]}{orcid_checksum(digits)}"
            authors.append(
                Author(
                    given_name=given,
                    family_name=family,
                    slug=slug,
                    degree=rng.choice(words.DEGREES),
                    position=rng.choice(words.POSITIONS),
                    department=rng.choice(words.DEPARTMENTS),
                    organization=organization,
                    email=f"{slug.replace('-', '.')}@example.org",
                    orcid=orcid,
                    bio=(
                        f"{given} {family} works at the {organization.name} in {organization.city}, "
                        f"researching {rng.choice(list(words.THEMES)).lower()} and "
                        f"{rng.choice(list(words.THEMES)).lower()}."
                    ),
                )
            )
        Author.objects.bulk_create(authors, batch_size=2000)
        self.author_ids = list(Author.objects.order_by("pk").values_list("pk", flat=True))
        self.counts.organizations, self.counts.authors = len(self.organizations), len(self.author_ids)
        self.progress(f"{len(self.organizations)} organizations, {len(self.author_ids)} authors")

    # Files

    def _write_pdfs(self) -> None:
        self.pdfs: list[tuple[str, str]] = []  # (storage name, text)
        for number in range(1, DEMO_PDF_COUNT + 1):
            theme = self.themes[(number - 1) % len(self.themes)]
            subject = words.SUBJECTS[theme.name][number % len(words.SUBJECTS[theme.name])]
            title = f"{subject}: Working Document {number}"
            paragraphs = [
                f"{theme.description} This document discusses {subject.lower()} in depth.",
                *(
                    sentence.format(subject_lower=subject.lower(), region="the region", start=1990 + number)
                    for sentence in words.BODY_SENTENCES
                ),
            ]
            name = f"publications/pdf/demo/demo-{number:02d}.pdf"
            if not default_storage.exists(name):
                default_storage.save(name, ContentFile(build_pdf(title, paragraphs)))
            self.pdfs.append((name, "\n".join([title, *paragraphs])))
        self.counts.pdfs = len(self.pdfs)

    # Publications

    def _unique_slug(self, title: str) -> str:
        slug = base = slugify(title)[:180].strip("-") or "publication"
        suffix = 2
        while slug in self.used_slugs:
            slug = f"{base}-{suffix}"
            suffix += 1
        self.used_slugs.add(slug)
        return slug

    def _published_at(self) -> dt.datetime:
        rng = self.rng
        years = list(range(FIRST_DAY.year, LAST_DAY.year + 1))
        year = rng.choices(years, weights=[year - 1985 for year in years])[0]
        start = max(FIRST_DAY, dt.date(year, 1, 1))
        end = min(LAST_DAY, dt.date(year, 12, 31))
        day = start + dt.timedelta(days=rng.randrange((end - start).days + 1))
        moment = dt.datetime.combine(day, dt.time(rng.randrange(7, 19), rng.choice([0, 15, 30, 45])))
        return min(timezone.make_aware(moment, dt.UTC), timezone.now() - dt.timedelta(hours=1))

    def _text_context(self, theme: Theme, region: Region, year: int, kind: str) -> dict:
        subject = self.rng.choice(words.SUBJECTS[theme.name])
        return {
            "subject": subject,
            "subject_lower": subject.lower(),
            "region": words.REGION_PHRASES.get(region.name, region.name),
            "year": year,
            "start": max(1985, year - self.rng.choice([5, 10, 15, 20])),
            "angle": self.rng.choice(words.ANGLES),
            "kind": "post" if kind == Publication.Kind.BLOG_POST else Publication.Kind(kind).label.lower(),
            "theme_lower": theme.name.lower(),
        }

    def _body(self, context: dict, sections: int) -> str:
        rng = self.rng
        parts = []
        headings = ["Introduction", *rng.sample(words.BODY_SECTIONS[1:-1], sections - 2), "Conclusion"]
        for heading in headings:
            sentences = rng.sample(words.BODY_SENTENCES, rng.randint(3, 5))
            paragraph = " ".join(sentence.format(**context) for sentence in sentences)
            parts.append(f"<h2>{heading}</h2>\n<p>{paragraph}</p>")
        return "\n".join(parts)

    def _publication(self, pk: int) -> tuple[Publication, dict]:
        rng = self.rng
        kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
        themes = rng.sample(self.themes, rng.choice([1, 1, 2, 2, 3]))
        regions = rng.sample(self.regions, rng.choice([1, 1, 1, 2]))
        published_at = self._published_at()
        year = published_at.year
        context = self._text_context(themes[0], regions[0], year, kind)
        if kind == Publication.Kind.BLOG_POST:
            title = rng.choice(words.BLOG_TITLES).format(**context)
        else:
            title = rng.choice(words.TITLE_PATTERNS).format(**context)
        title = title[0].upper() + title[1:]
        abstract = " ".join(
            [
                rng.choice(words.ABSTRACT_OPENINGS).format(**context),
                *rng.sample(words.ABSTRACT_MIDDLES, 2),
                rng.choice(words.ABSTRACT_CLOSINGS).format(**context),
            ]
        )
        language = rng.choices(
            [Language.ENGLISH, Language.RUSSIAN, Language.FRENCH, Language.GERMAN], weights=[85, 10, 3, 2]
        )[0]
        body = ""
        if kind in (Publication.Kind.BLOG_POST, Publication.Kind.COMMENTARY):
            body = self._body(context, rng.randint(4, 6))
        elif kind == Publication.Kind.REPORT:
            body = self._body(context, 3)
        publication = Publication(
            pk=pk,
            title=title,
            subtitle=rng.choice(words.SUBTITLES)
            if kind in (Publication.Kind.REPORT, Publication.Kind.BOOK)
            else "",
            slug=self._unique_slug(title),
            kind=kind,
            status=Publication.Status.PUBLISHED,
            published_at=published_at,
            abstract=abstract,
            body=body,
            language=language,
            featured=rng.random() < 0.01,
            license=License.CC_BY,
            copyright_holder=settings.SITE_NAME,
            copyright_year=year,
        )
        if kind == Publication.Kind.ARTICLE:
            journal = rng.choice(words.JOURNALS[-2:] if language == Language.RUSSIAN else words.JOURNALS[:-2])
            first = rng.randint(1, 180)
            publication.container_title = journal
            publication.volume = str(year - 1980)
            publication.issue = str(rng.randint(1, 4))
            publication.pages = f"{first}-{first + rng.randint(8, 30)}"
            publication.doi = f"10.55{rng.randint(10, 99)}/jep.{year}.{pk}"
            publication.license = rng.choice([License.CC_BY, License.CC_BY_NC, License.CC_BY_NC_ND])
            publication.copyright_holder = journal
        elif kind == Publication.Kind.WORKING_PAPER:
            publication.container_title = "Working Paper Series"
            publication.issue = f"{year}-{pk % 100:02d}"
            if rng.random() < 0.5:
                publication.doi = f"10.5555/wp.{year}.{pk}"
        elif kind == Publication.Kind.REPORT and rng.random() < 0.3:
            publication.doi = f"10.5555/report.{year}.{pk}"
        elif kind == Publication.Kind.BOOK:
            publication.pages = str(rng.randint(120, 420))
            publication.license = License.ALL_RIGHTS_RESERVED
        elif kind == Publication.Kind.BLOG_POST:
            publication.likes = rng.randint(0, 60)
            publication.dislikes = rng.randint(0, 8)
        if kind in KINDS_WITH_PDF and rng.random() < 0.7:
            name, text = rng.choice(self.pdfs)
            publication.pdf = name
            publication.pdf_text = text
            publication.pdf_text_status = Publication.PdfTextStatus.EXTRACTED
        relations = {
            "themes": themes,
            "regions": regions,
            "tags": rng.sample(self.tags, rng.randint(2, 5)),
            "authors": self._byline(kind),
            "references": self._references(kind, year),
        }
        return publication, relations

    def _byline(self, kind: str) -> list[int]:
        count = {
            Publication.Kind.BLOG_POST: [1],
            Publication.Kind.COMMENTARY: [1, 1, 2],
            Publication.Kind.ARTICLE: [1, 2, 2, 3, 4],
            Publication.Kind.REPORT: [1, 2, 3, 4, 5],
        }.get(kind, [1, 2, 3])
        return self.rng.sample(self.author_ids, self.rng.choice(count))

    def _references(self, kind: str, year: int) -> list[dict]:
        rng = self.rng
        size = {
            Publication.Kind.ARTICLE: (8, 20),
            Publication.Kind.REPORT: (4, 12),
            Publication.Kind.WORKING_PAPER: (4, 10),
            Publication.Kind.BOOK: (10, 25),
        }.get(kind)
        if not size:
            return []
        references = []
        for number in range(1, rng.randint(*size) + 1):
            ref_year = rng.randint(max(1960, year - 30), year)
            if rng.random() < 0.15:
                text = rng.choice(words.RUSSIAN_REFERENCES).format(year=ref_year, volume=ref_year - 1990)
                references.append({"text": text, "language": Language.RUSSIAN})
                continue
            subject = rng.choice(rng.choice(list(words.SUBJECTS.values())))
            region = rng.choice(list(words.REGIONS))
            first = rng.randint(1, 300)
            city, _ = rng.choice(words.CITIES)
            text = rng.choice(words.REFERENCE_TEMPLATES).format(
                author=f"{rng.choice(words.FAMILY_NAMES)} {rng.choice(words.GIVEN_NAMES)[0]}.",
                title=f"{subject} in {words.REGION_PHRASES.get(region, region)}",
                journal=rng.choice(words.JOURNALS[:-2]),
                year=ref_year,
                volume=rng.randint(1, 40),
                issue=rng.randint(1, 6),
                first=first,
                last=first + rng.randint(5, 30),
                city=city,
                publisher=rng.choice(words.PUBLISHERS),
                pages=rng.randint(120, 500),
                editor=f"{rng.choice(words.FAMILY_NAMES)} {rng.choice(words.GIVEN_NAMES)[0]}.",
                book=f"Handbook of {subject}",
            )
            reference = {"text": text, "language": ""}
            roll = rng.random()
            if roll < 0.35:
                reference["doi"] = f"10.{rng.randint(1000, 9999)}/{slugify(subject)}.{ref_year}.{number}"
            elif roll < 0.55:
                reference["url"] = f"https://www.example.org/{slugify(subject)}/{ref_year}/{number}"
                reference["accessed_on"] = dt.date(min(year, 2026), rng.randint(1, 12), rng.randint(1, 28))
            references.append(reference)
        return references

    def _build_publications(self) -> None:
        next_pk = 1
        next_reference_pk = 1
        content_type = ContentType.objects.get_for_model(Publication)
        ThemeLink, RegionLink = Publication.themes.through, Publication.regions.through
        done = 0
        while done < self.total:
            size = min(CHUNK, self.total - done)
            publications, authorships, theme_links, region_links, tag_links, references = (
                [],
                [],
                [],
                [],
                [],
                [],
            )
            for pk in range(next_pk, next_pk + size):
                publication, relations = self._publication(pk)
                publications.append(publication)
                for position, author_id in enumerate(relations["authors"], start=1):
                    authorships.append(
                        Authorship(
                            publication_id=pk,
                            author_id=author_id,
                            position=position,
                            is_corresponding=position == 1 and publication.kind == Publication.Kind.ARTICLE,
                        )
                    )
                theme_links += [
                    ThemeLink(publication_id=pk, theme_id=theme.pk) for theme in relations["themes"]
                ]
                region_links += [
                    RegionLink(publication_id=pk, region_id=region.pk) for region in relations["regions"]
                ]
                tag_links += [
                    TaggedItem(content_type=content_type, object_id=pk, tag_id=tag.pk)
                    for tag in relations["tags"]
                ]
                for position, reference in enumerate(relations["references"], start=1):
                    references.append(
                        Reference(pk=next_reference_pk, publication_id=pk, position=position, **reference)
                    )
                    next_reference_pk += 1
            Publication.objects.bulk_create(publications, batch_size=1000)
            Authorship.objects.bulk_create(authorships, batch_size=2000)
            ThemeLink.objects.bulk_create(theme_links, batch_size=2000)
            RegionLink.objects.bulk_create(region_links, batch_size=2000)
            TaggedItem.objects.bulk_create(tag_links, batch_size=2000)
            Reference.objects.bulk_create(references, batch_size=2000)
            next_pk += size
            done += size
            self.counts.references += len(references)
            self.progress(f"{done:,} / {self.total:,} publications")
        self.counts.publications = done
        self.next_pk = next_pk

    def _build_unpublished(self) -> None:
        """A few drafts, items in review and scheduled items, for previews and the workflow."""
        rng = self.rng
        # Scheduled dates are whole days ahead, so reseeding on the same day gives the same index.
        now = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0)
        samples = [
            (Publication.Status.DRAFT, None, "Draft: Energy Corridors in Central Asia"),
            (Publication.Status.DRAFT, None, "Draft: The Arctic Council after 2026"),
            (Publication.Status.DRAFT, None, "Draft: Food Prices and Social Stability"),
            (Publication.Status.REVIEW, None, "In Review: Sanctions and Supply Chains"),
            (Publication.Status.REVIEW, None, "In Review: Migration Corridors in Eurasia"),
            (
                Publication.Status.PUBLISHED,
                now + dt.timedelta(days=7),
                "Scheduled: Outlook for the Year Ahead",
            ),
            (
                Publication.Status.PUBLISHED,
                now + dt.timedelta(days=30),
                "Scheduled: Water and Security Report",
            ),
        ]
        for offset, (status, published_at, title) in enumerate(samples):
            publication = Publication.objects.create(
                pk=self.next_pk + offset,
                title=title,
                slug=self._unique_slug(title),
                kind=Publication.Kind.REPORT,
                status=status,
                published_at=published_at,
                abstract="Work in progress; not yet visible to the public.",
                copyright_holder=settings.SITE_NAME,
            )
            publication.themes.set([rng.choice(self.themes)])
            Authorship.objects.create(
                publication=publication, author_id=rng.choice(self.author_ids), position=1
            )
        self.counts.unpublished = len(samples)

    def _reset_sequences(self) -> None:
        """Explicit primary keys leave PostgreSQL's sequences behind; move them on."""
        statements = connection.ops.sequence_reset_sql(no_style(), [Publication, Reference])
        if statements:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)


def existing_editorial_content() -> list[str]:
    """The kinds of editorial content already in the database (empty list: nothing to overwrite)."""
    models = {
        "publications": Publication,
        "authors": Author,
        "organizations": Organization,
        "themes": Theme,
        "regions": Region,
        "tags": Tag,
    }
    return [name for name, model in models.items() if model.objects.exists()]


def reset_demo_content() -> None:
    """Delete all editorial content (not users, subscribers or tasks)."""
    with transaction.atomic():
        TaggedItem.objects.filter(content_type=ContentType.objects.get_for_model(Publication)).delete()
        Publication.objects.all().delete()
        Author.objects.all().delete()
        Organization.objects.all().delete()
        Theme.objects.all().delete()
        Region.objects.all().delete()
        Tag.objects.filter(taggit_taggeditem_items__isnull=True).delete()
