"""People and institutions behind the publications."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from center.identifiers import ORCID_PATTERN, normalize_orcid, validate_orcid
from center.links import slug_url


class Organization(models.Model):
    name = models.CharField(max_length=255)
    city = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=120, blank=True)
    website = models.URLField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "city"], name="organization_unique_name_city"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def place(self) -> str:
        """ "City, Country" as far as known."""
        return ", ".join(part for part in (self.city, self.country) if part)


class AuthorQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        """Updates send no signals: tell the cache that content changed."""
        from center.caching import bulk_content_changed

        rows = super().update(**kwargs)
        if rows:
            bulk_content_changed()
        return rows

    def with_publication_counts(self) -> AuthorQuerySet:
        """Annotate each author with the number of publications the public can see."""
        from publications.models import Publication

        visible = Publication.objects.published().values("pk")
        return self.annotate(
            publication_count=models.Count(
                "authorships", filter=Q(authorships__publication__in=visible), distinct=True
            )
        )


class PersonName:
    """The names of anything with a ``given_name`` and a ``family_name``: an author, a byline."""

    given_name: str
    family_name: str

    @property
    def full_name(self) -> str:
        """ "Given Family", as bylines show an author."""
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def sort_name(self) -> str:
        """ "Family, Given", as citations and library records sort an author."""
        return f"{self.family_name}, {self.given_name}".strip(", ")


class Author(PersonName, models.Model):
    given_name = models.CharField(max_length=120)
    family_name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    degree = models.CharField(max_length=200, blank=True, help_text='For example "PhD in History".')
    position = models.CharField(max_length=200, blank=True, help_text='For example "Leading Researcher".')
    department = models.CharField(max_length=255, blank=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="authors"
    )
    email = models.EmailField(blank=True)
    orcid = models.CharField(
        "ORCID iD", max_length=19, blank=True, validators=[validate_orcid], help_text="0000-0002-1825-0097"
    )
    photo = models.ImageField(upload_to="authors/", blank=True)
    bio = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AuthorQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name"]
        indexes = [
            models.Index(fields=["family_name", "given_name"]),
            # The authors' sitemap's lastmod: MAX(updated_at) read from the index, not a scan.
            models.Index(fields=["updated_at"], name="author_updated_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(orcid="") | Q(orcid__regex=ORCID_PATTERN), name="author_orcid_format"
            ),
            models.UniqueConstraint(fields=["orcid"], condition=~Q(orcid=""), name="author_unique_orcid"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return slug_url("authors:detail", self.slug)

    @property
    def orcid_url(self) -> str:
        return f"https://orcid.org/{self.orcid}" if self.orcid else ""

    def clean_fields(self, exclude=None) -> None:
        # Normalise before the field validators see the value.
        self.orcid = normalize_orcid(self.orcid)
        super().clean_fields(exclude=exclude)
