"""What the research center publishes.

``Publication.objects.published()`` is the one place that decides what the
public may see: views, feeds, sitemaps, search, OAI-PMH and newsletters all go
through it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords
from taggit.managers import TaggableManager

from center.identifiers import DOI_PATTERN, normalize_doi, validate_doi
from center.links import slug_url


class Theme(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return slug_url("publications:theme", self.slug)


class Region(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return slug_url("publications:region", self.slug)


class License(models.TextChoices):
    CC_BY = "CC-BY-4.0", "CC BY 4.0"
    CC_BY_SA = "CC-BY-SA-4.0", "CC BY-SA 4.0"
    CC_BY_NC = "CC-BY-NC-4.0", "CC BY-NC 4.0"
    CC_BY_NC_SA = "CC-BY-NC-SA-4.0", "CC BY-NC-SA 4.0"
    CC_BY_ND = "CC-BY-ND-4.0", "CC BY-ND 4.0"
    CC_BY_NC_ND = "CC-BY-NC-ND-4.0", "CC BY-NC-ND 4.0"
    CC0 = "CC0-1.0", "CC0 1.0 (public domain dedication)"
    ALL_RIGHTS_RESERVED = "all-rights-reserved", "All rights reserved"


LICENSE_URLS = {
    License.CC_BY: "https://creativecommons.org/licenses/by/4.0/",
    License.CC_BY_SA: "https://creativecommons.org/licenses/by-sa/4.0/",
    License.CC_BY_NC: "https://creativecommons.org/licenses/by-nc/4.0/",
    License.CC_BY_NC_SA: "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    License.CC_BY_ND: "https://creativecommons.org/licenses/by-nd/4.0/",
    License.CC_BY_NC_ND: "https://creativecommons.org/licenses/by-nc-nd/4.0/",
    License.CC0: "https://creativecommons.org/publicdomain/zero/1.0/",
}


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    RUSSIAN = "ru", "Russian"
    FRENCH = "fr", "French"
    GERMAN = "de", "German"
    SPANISH = "es", "Spanish"
    CHINESE = "zh", "Chinese"
    ARABIC = "ar", "Arabic"


class PublicationHistoryBase(models.Model):
    """What each row of a publication's revision history holds besides its own fields."""

    # Authors, references, themes, regions, tags and figures as they were after that save
    # (publications.history.related_snapshot); null in rows saved before they were recorded.
    related = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


def listing_prefetches() -> tuple:
    """What a card in a list shows besides the publication's own fields (``for_listing()``, cards)."""
    return (
        models.Prefetch(
            "authorships", queryset=Authorship.objects.select_related("author").order_by("position")
        ),
        "themes",
        "regions",
    )


class PublicationQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        """Updates send no signals: tell the cache that content changed (bulk publish, counters)."""
        from center.caching import bulk_content_changed

        rows = super().update(**kwargs)
        if rows:
            bulk_content_changed()
        return rows

    def published(self) -> PublicationQuerySet:
        """What the public may see: published, and its publication moment has come.

        A published item with a future ``published_at`` is scheduled; it becomes
        visible at that moment with no job having to run.
        """
        return self.filter(status=Publication.Status.PUBLISHED, published_at__lte=timezone.now())

    def scheduled(self) -> PublicationQuerySet:
        return self.filter(status=Publication.Status.PUBLISHED, published_at__gt=timezone.now())

    def for_listing(self) -> PublicationQuerySet:
        """Everything a card in a list shows, fetched in a constant number of queries.

        The full text and the PDF's extracted text stay in the database: lists never show them.
        """
        return self.defer("body", "pdf_text").prefetch_related(*listing_prefetches())


class Publication(models.Model):
    class Kind(models.TextChoices):
        REPORT = "report", "Report"
        ARTICLE = "article", "Journal article"
        COMMENTARY = "commentary", "Commentary"
        BLOG_POST = "blog", "Blog post"
        BOOK = "book", "Book"
        WORKING_PAPER = "working-paper", "Working paper"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        REVIEW = "review", "In review"
        PUBLISHED = "published", "Published"

    class PdfTextStatus(models.TextChoices):
        NONE = "none", "No PDF"
        PENDING = "pending", "Waiting for extraction"
        EXTRACTED = "extracted", "Text extracted"
        NO_TEXT = "no-text", "No text found (image-only PDF?)"
        BROKEN = "broken", "PDF could not be read"

    title = models.CharField(max_length=500)
    subtitle = models.CharField(max_length=500, blank=True)
    slug = models.SlugField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REPORT, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="A future date schedules the publication."
    )
    abstract = models.TextField(blank=True, help_text="Summary shown in lists and metadata.")
    body = models.TextField(blank=True, help_text="Full text (sanitized HTML).")
    pdf = models.FileField(upload_to="publications/pdf/%Y/", blank=True, max_length=255)
    pdf_text = models.TextField(blank=True, editable=False)
    pdf_text_status = models.CharField(
        max_length=20, choices=PdfTextStatus.choices, default=PdfTextStatus.NONE, editable=False
    )
    pdf_thumbnail = models.ImageField(upload_to="publications/thumbs/", blank=True, editable=False)
    cover_image = models.ImageField(upload_to="publications/covers/", blank=True)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    doi = models.CharField("DOI", max_length=255, blank=True, validators=[validate_doi])
    # Set by imports: re-importing the file finds the publication by it even after its slug changed.
    source_key = models.CharField(
        max_length=200,
        blank=True,
        help_text="Key of the imported record (BibTeX key, RIS ID, CSL-JSON id, CSV key).",
    )
    container_title = models.CharField(
        "journal or series", max_length=300, blank=True, help_text="Journal name, series or book title."
    )
    volume = models.CharField(max_length=30, blank=True)
    issue = models.CharField(max_length=30, blank=True)
    pages = models.CharField(max_length=30, blank=True, help_text='For example "45-67".')
    license = models.CharField(max_length=30, choices=License.choices, default=License.CC_BY)
    copyright_holder = models.CharField(max_length=255, blank=True)
    copyright_year = models.PositiveSmallIntegerField(null=True, blank=True)
    themes = models.ManyToManyField(Theme, blank=True, related_name="publications")
    regions = models.ManyToManyField(Region, blank=True, related_name="publications")
    authors = models.ManyToManyField(
        "authors.Author", through="Authorship", related_name="publications", blank=True
    )
    tags = TaggableManager(blank=True)
    featured = models.BooleanField(default=False)
    likes = models.PositiveIntegerField(default=0, editable=False)
    dislikes = models.PositiveIntegerField(default=0, editable=False)
    # Incremented on every save; editors saving a stale copy get a conflict.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PublicationQuerySet.as_manager()
    # Revision history: who changed what, when (admin "History": diff and restore), related
    # objects included (publications/history.py).
    history = HistoricalRecords(
        excluded_fields=["pdf_text", "pdf_text_status", "likes", "dislikes", "updated_at"],
        history_change_reason_field=models.TextField(null=True),
        bases=[PublicationHistoryBase],
    )

    class Meta:
        ordering = ["-published_at", "-pk"]
        permissions = [
            ("publish_publication", "Can publish, unpublish, schedule and send back publications"),
            ("edit_any_publication", "Can edit any publication, whoever created it and in any status"),
        ]
        indexes = [
            models.Index(fields=["status", "published_at"], name="pub_status_published_at"),
            models.Index(fields=["-published_at", "-id"], name="pub_published_at_desc"),
            models.Index(fields=["kind", "-published_at"], name="pub_kind_published_at"),
            models.Index(fields=["title"], name="pub_title"),
            models.Index(fields=["doi"], name="pub_doi"),
            # Search joins its matches to this narrow index instead of the wide rows (body, PDF text):
            # visibility and facets are read from it alone.
            models.Index(fields=["id", "status", "published_at", "kind"], name="pub_search_visibility"),
            # Everything the facet index (publications/facet_index.py) reads, in its order.
            models.Index(
                fields=["status", "published_at", "kind", "language", "updated_at"], name="pub_facet_columns"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(doi="") | Q(doi__regex=DOI_PATTERN), name="publication_doi_format"
            ),
            models.UniqueConstraint(fields=["doi"], condition=~Q(doi=""), name="publication_unique_doi"),
            models.UniqueConstraint(
                fields=["source_key"], condition=~Q(source_key=""), name="publication_unique_source_key"
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="publication_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return slug_url("publications:detail", self.slug)

    def clean_fields(self, exclude=None) -> None:
        # Normalise before the field validators see the value.
        self.doi = normalize_doi(self.doi)
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()

    @property
    def is_public(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    @property
    def is_scheduled(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.published_at is not None and not self.is_public

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{self.doi}" if self.doi else ""

    @property
    def license_url(self) -> str:
        return LICENSE_URLS.get(self.license, "")

    @property
    def date_label(self) -> str:
        """'Posted on' for blog posts, 'Published' for everything else."""
        return "Posted on" if self.kind == self.Kind.BLOG_POST else "Published"

    @property
    def first_page(self) -> str:
        return self.pages.replace("–", "-").split("-")[0].strip() if self.pages else ""

    @property
    def last_page(self) -> str:
        parts = self.pages.replace("–", "-").split("-") if self.pages else []
        return parts[-1].strip() if len(parts) > 1 else ""


class Authorship(models.Model):
    """An author's place in a publication's byline."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="authorships")
    author = models.ForeignKey("authors.Author", on_delete=models.PROTECT, related_name="authorships")
    position = models.PositiveSmallIntegerField(default=0)
    is_corresponding = models.BooleanField("author for correspondence", default=False)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["publication", "author"], name="authorship_unique_author"),
            models.UniqueConstraint(
                fields=["publication"],
                condition=Q(is_corresponding=True),
                name="authorship_one_corresponding",
            ),
        ]
        indexes = [models.Index(fields=["author", "publication"], name="authorship_author_pub")]

    def __str__(self) -> str:
        return f"{self.author} – {self.publication}"


class Reference(models.Model):
    """One numbered entry of a publication's reference list."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="references")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.TextField()
    doi = models.CharField("DOI", max_length=255, blank=True, validators=[validate_doi])
    url = models.URLField(max_length=1000, blank=True)
    accessed_on = models.DateField(null=True, blank=True)
    language = models.CharField(max_length=8, choices=Language.choices, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(doi="") | Q(doi__regex=DOI_PATTERN), name="reference_doi_format"
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]

    def clean_fields(self, exclude=None) -> None:
        self.doi = normalize_doi(self.doi)
        super().clean_fields(exclude=exclude)

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{self.doi}" if self.doi else ""

    @property
    def language_note(self) -> str:
        """'(In Russian)' and the like, for references not in English."""
        if self.language and self.language != Language.ENGLISH:
            return f"(In {self.get_language_display()})"
        return ""


class Figure(models.Model):
    """An image of a publication's body, placed in the text with ``[figure N]`` (N: its number).

    The file is checked and scaled down by the admin form (publications.validators) and
    stored through Django's storage API; width and height are kept so that the page
    reserves the figure's space before the image arrives.
    """

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="figures")
    position = models.PositiveSmallIntegerField(
        "number", default=0, help_text="Place it in the body with [figure N], N being this number."
    )
    image = models.ImageField(upload_to="publications/figures/%Y/", max_length=255)
    width = models.PositiveIntegerField(null=True, editable=False)
    height = models.PositiveIntegerField(null=True, editable=False)
    alt_text = models.CharField(
        "alternative text",
        max_length=300,
        help_text="What the image shows, for readers who cannot see it (screen readers, search engines).",
    )
    caption = models.TextField(blank=True, help_text="Shown under the image, after “Figure N.” (plain text).")

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"Figure {self.position}: {self.alt_text[:60]}"

    @property
    def shortcode(self) -> str:
        """What an editor types in the body to place this figure."""
        return f"[figure {self.position}]"


class Reaction(models.Model):
    """A visitor's like or dislike of a blog post: one per visitor and publication."""

    class Value(models.IntegerChoices):
        LIKE = 1, "Like"
        DISLIKE = -1, "Dislike"

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="reactions")
    # A keyed hash of the visitor's cookie id; no personal data is stored.
    visitor = models.CharField(max_length=64)
    value = models.SmallIntegerField(choices=Value.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["publication", "visitor"], name="reaction_one_per_visitor"),
        ]

    def __str__(self) -> str:
        return f"{self.get_value_display()} on {self.publication_id}"


class SearchDocument(models.Model):
    """A publication's weighted full-text vector (PostgreSQL), kept by ``publications.search``.

    A table of its own rather than columns on ``Publication``: the vector and the
    plain text for snippets are large and rewritten on every reindex, and the
    index, listing and detail pages never read them, so the main table stays
    lean and its rows small. On SQLite the FTS5 table ``publications_search_fts``
    plays this part and this table stays empty.
    """

    publication = models.OneToOneField(
        Publication, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    # A: title and subtitle; B: authors, tags, themes, regions; C: abstract and body; D: PDF text.
    vector = SearchVectorField(null=True)
    # Abstract and body as plain text, for ts_headline() snippets.
    text = models.TextField(blank=True)

    class Meta:
        indexes = [GinIndex(fields=["vector"], name="search_document_vector")]

    def __str__(self) -> str:
        return f"Search document of {self.publication_id}"
