"""The publication index's filters (django-filter) and their facet counts.

Every filter value lives in the query string, so a filtered list can be
bookmarked and shared and the back button works. Themes, regions, tags and
authors are addressed by slug. Values that do not parse (``?year=abc``,
``?tag=<script>``) are reported as form errors and left out of the filtering,
never a server error.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.core.validators import validate_slug, validate_unicode_slug
from django.db.models import CharField, Count, F, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from center import caching
from publications import search
from publications.models import Language, Publication

MIN_YEAR, MAX_YEAR = 1900, 2100
# Facets list at most this many values (the most frequent ones, plus any selected).
FACET_LIMIT = 30


class SlugListField(forms.Field):
    """Several slugs from repeated query parameters (``?tag=a&tag=b``).

    Unicode slugs are valid: django-taggit keeps a tag's script ("центральная-азия").
    """

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": "“%(value)s” is not a valid name here."}

    def to_python(self, value) -> list[str]:
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        return [item.strip().lower() for item in value if item and item.strip()][:10]

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        for item in value:
            try:
                validate_unicode_slug(item)
            except forms.ValidationError:
                raise forms.ValidationError(
                    self.error_messages["invalid"], code="invalid", params={"value": item[:60]}
                ) from None


class SlugListFilter(django_filters.Filter):
    """Publications that carry every one of the given slugs (all must match)."""

    field_class = SlugListField

    def filter(self, qs, value):
        for slug in value or []:
            qs = qs.filter(**{f"{self.field_name}__slug": slug})
        return qs


class SlugFilter(django_filters.CharFilter):
    """One theme, region or author, by slug."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, validators=[validate_slug], max_length=140, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__slug": value})


def start_of_year(year: int) -> dt.datetime:
    return dt.datetime(year, 1, 1, tzinfo=timezone.get_current_timezone())


class PublicationFilter(django_filters.FilterSet):
    SORTS = {"newest": ("-published_at", "-pk"), "oldest": ("published_at", "pk"), "title": ("title", "pk")}

    q = django_filters.CharFilter(method="filter_query", max_length=200, label="Search in the index")
    kind = django_filters.ChoiceFilter(choices=Publication.Kind.choices, label="Type")
    theme = SlugFilter(field_name="themes", label="Theme")
    region = SlugFilter(field_name="regions", label="Region")
    tag = SlugListFilter(field_name="tags", label="Tags")
    author = SlugFilter(field_name="authors", label="Author")
    language = django_filters.ChoiceFilter(choices=Language.choices, label="Language")
    year = django_filters.NumberFilter(
        method="filter_year", label="Year", min_value=MIN_YEAR, max_value=MAX_YEAR
    )
    year_from = django_filters.NumberFilter(
        method="filter_year_from", label="From year", min_value=MIN_YEAR, max_value=MAX_YEAR
    )
    year_to = django_filters.NumberFilter(
        method="filter_year_to", label="To year", min_value=MIN_YEAR, max_value=MAX_YEAR
    )
    sort = django_filters.ChoiceFilter(
        method="filter_sort",
        choices=[("newest", "Newest first"), ("oldest", "Oldest first"), ("title", "Title A–Z")],
        label="Sort by",
        empty_label=None,
    )

    class Meta:
        model = Publication
        fields: list[str] = []

    def filter_query(self, queryset, name, value):
        value = value.strip()
        return search.filter_by_query(queryset, value) if value else queryset

    def filter_year(self, queryset, name, value):
        year = int(value)
        return queryset.filter(
            published_at__gte=start_of_year(year), published_at__lt=start_of_year(year + 1)
        )

    def filter_year_from(self, queryset, name, value):
        return queryset.filter(published_at__gte=start_of_year(int(value)))

    def filter_year_to(self, queryset, name, value):
        return queryset.filter(published_at__lt=start_of_year(int(value) + 1))

    def filter_sort(self, queryset, name, value):
        return queryset.order_by(*self.SORTS.get(value, self.SORTS["newest"]))

    @property
    def qs(self):
        queryset = super().qs
        # Several tags or themes can join the same row more than once.
        if self.is_bound and self.form.cleaned_data.get("tag"):
            queryset = queryset.distinct()
        return queryset

    @property
    def active(self) -> dict:
        """The valid, non-empty filter values (sort excluded), for chips and "clear filters"."""
        if not self.is_bound:
            return {}
        self.form.is_valid()
        data = self.form.cleaned_data
        return {name: value for name, value in data.items() if value not in (None, "", []) and name != "sort"}


def facet_counts(queryset) -> dict[str, list[dict]]:
    """How many publications of ``queryset`` carry each kind, theme, region, tag, author and language.

    One SQL query (a UNION of grouped counts), cached per content version under
    the query's SQL, so repeated visits to the same filtered list cost nothing.
    """
    sql, params = queryset.values("pk").query.sql_with_params()
    now = timezone.now()
    stable = ["now" if caching._is_about_now(value, now) else repr(value) for value in params]
    return caching.cached(f"facets:{sql}|{stable}", lambda: _compute_facets(queryset))


def _compute_facets(queryset) -> dict[str, list[dict]]:
    ids = queryset.order_by().values("pk")
    text = CharField()

    def grouped(rows, facet: str, value, label):
        return (
            rows.annotate(facet=Value(facet, output_field=text), value=value, label=label)
            .values("facet", "value", "label")
            .annotate(n=Count("pk"))
            .order_by()
        )

    publications = Publication.objects.filter(pk__in=ids)
    themes = Publication.themes.through.objects.filter(publication__in=ids)
    regions = Publication.regions.through.objects.filter(publication__in=ids)
    authorships = Publication.authors.through.objects.filter(publication__in=ids)
    tagged = Publication.tags.through.objects.filter(
        content_type__app_label="publications", content_type__model="publication", object_id__in=ids
    )
    union = grouped(publications, "kind", Cast("kind", text), Cast("kind", text)).union(
        grouped(publications, "language", Cast("language", text), Cast("language", text)),
        grouped(themes, "theme", F("theme__slug"), F("theme__name")),
        grouped(regions, "region", F("region__slug"), F("region__name")),
        grouped(tagged, "tag", F("tag__slug"), F("tag__name")),
        grouped(
            authorships,
            "author",
            F("author__slug"),
            Concat("author__family_name", Value(", "), "author__given_name", output_field=text),
        ),
        all=True,
    )
    kinds = dict(Publication.Kind.choices)
    languages = dict(Language.choices)
    facets: dict[str, list[dict]] = {
        name: [] for name in ("kind", "language", "theme", "region", "tag", "author")
    }
    for row in union:
        label = row["label"]
        if row["facet"] == "kind":
            label = kinds.get(label, label)
        elif row["facet"] == "language":
            label = languages.get(label, label)
        facets[row["facet"]].append({"value": row["value"], "label": label, "count": row["n"]})
    for name, items in facets.items():
        if name in ("kind", "language"):
            items.sort(key=lambda item: -item["count"])
        else:
            items.sort(key=lambda item: item["label"].lower())
    return facets


def facets_for_display(facets: dict[str, list[dict]], active: dict) -> dict[str, list[dict]]:
    """Trim long facets to the most frequent values, keep the selected ones, mark them."""
    shown: dict[str, list[dict]] = {}
    for name, items in facets.items():
        selected = active.get(name) or []
        if isinstance(selected, str):
            selected = [selected]
        if len(items) > FACET_LIMIT:
            top = sorted(items, key=lambda item: -item["count"])[:FACET_LIMIT]
            keep = {item["value"] for item in top} | set(selected)
            items = [item for item in items if item["value"] in keep]
        known = {item["value"] for item in items}
        items = [*items, *({"value": v, "label": v, "count": 0} for v in selected if v not in known)]
        shown[name] = [{**item, "selected": item["value"] in selected} for item in items]
    return shown
