"""The publication index's filters (django-filter) and their facet counts.

Every filter value lives in the query string, so a filtered list can be
bookmarked and shared and the back button works. Themes, regions, tags and
authors are addressed by slug. Values that do not parse (``?year=abc``,
``?tag=<script>``) are reported as form errors and left out of the filtering,
never a server error.
"""

from __future__ import annotations

import copy
import hashlib

import django_filters
import numpy as np
from django import forms
from django.core.validators import validate_slug, validate_unicode_slug

from center import caching
from publications import facet_index, search
from publications.facet_index import start_of_year
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


class FilterForm(forms.Form):
    """The filters' form, with shallow copies of its fields.

    A Django form deep-copies its fields (and their widgets and choices) so that one form may change
    its own; this one changes none, and the copy was a tenth of a list page's time.
    """

    def __init__(self, *args, **kwargs):
        self.base_fields = {}  # what the base class deep-copies: nothing
        super().__init__(*args, **kwargs)
        del self.base_fields
        self.fields = {name: copy.copy(field) for name, field in self.base_fields.items()}


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
        form = FilterForm

    _form_class = None

    def __init__(self, data=None, queryset=None, **kwargs):
        """As django-filter's, but each request's filters are shallow copies of the class's.

        django-filter deep-copies every filter per request, and with them their form fields and
        widgets: about a fifth of a list page's time when its pieces come from the cache. These
        filters keep nothing of a request but their filterset and model (set below), and their
        labels are given, so a shallow copy bound to this filterset is as good.
        """
        self.base_filters = {}  # what the base class deep-copies: nothing
        super().__init__(data, queryset, **kwargs)
        del self.base_filters
        model = self.queryset.model
        self.filters = {name: _bound_copy(each, self, model) for name, each in self.base_filters.items()}

    def get_form_class(self):
        """The filters' form, made once: its fields are the same for every request (each form
        copies them), and django-filter would build the class again per request."""
        cls = type(self)
        if cls.__dict__.get("_form_class") is None:
            cls._form_class = super().get_form_class()
        return cls._form_class

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


def _bound_copy(filter_, filterset, model):
    bound = copy.copy(filter_)
    if filter_.method is not None:
        bound.method = filter_.method  # a FilterMethod of its own, which finds this filterset's method
    bound.model, bound.parent = model, filterset
    return bound


def facet_counts(filterset, *, subject=None, lookup: str = "") -> dict[str, list[dict]]:
    """How many publications of the filtered index carry each kind, language, theme, region, tag and author.

    Counted in memory from the facet index (``publications/facet_index.py``) and
    cached per content version under the valid filter values, so neither the
    index's size nor the number of matches makes a page slower. ``subject`` and
    ``lookup`` (``themes``, ``regions``, ``tags``) restrict it to a theme, region
    or tag page.
    """
    active = filterset.active
    values = repr(sorted((name, repr(value)) for name, value in active.items()))
    name = f"facets:{lookup}:{subject.pk if subject else ''}:{hashlib.sha256(values.encode()).hexdigest()}"
    return caching.cached(name, lambda: _facets(active, subject, lookup))


def _facets(active: dict, subject, lookup: str) -> dict[str, list[dict]]:
    """The counts; those of a whole list (the index, a theme or region page, with no filter values:
    a few dozen, some 40 KB each) are kept with the facet index, so that even with the value cache
    cold or off they are counted once per content version and process, not on each request. (Tag
    pages are left out: there may be thousands of tags.)"""
    if active or lookup not in ("", "themes", "regions"):
        return _compute_facets(active, subject, lookup)
    key = f"facets:{lookup}:{subject.pk if subject else ''}"
    return facet_index.current().derived(key, lambda: _compute_facets(active, subject, lookup))


def in_index_order(filterset, *, subject=None, lookup: str = "") -> np.ndarray | None:
    """The ids of the filtered index, in its order, from the facet index: what its SQL would list,
    with no COUNT or OFFSET that grows with the index. None when the facet index cannot tell: a
    search within the index, or the title order."""
    active = filterset.active
    sort = getattr(filterset.form, "cleaned_data", {}).get("sort") or "newest"
    if active.get("q") or sort not in ("newest", "oldest"):
        return None
    index = facet_index.current()
    ids = index.ids[np.flatnonzero(selection(index, active, subject, lookup))]
    return ids if sort == "newest" else ids[::-1]


def selection(index, active: dict, subject, lookup: str) -> np.ndarray:
    """A mask over the facet index: the publications the filter values ``active`` select (within
    ``subject``, reached by ``lookup``, when there is one)."""
    mask = np.ones(len(index), dtype=bool)
    if subject is not None:
        mask &= index.carrying(lookup, subject.slug)
    if active.get("q"):
        parsed = search.parse_query(active["q"].strip())
        if parsed:
            mask &= index.mask(search.matched_ids(parsed))
    for name, codes, vocabulary in (
        ("kind", index.kind, index.kinds),
        ("language", index.language, index.languages),
    ):
        if active.get(name):
            value = active[name]
            mask &= codes == (vocabulary.index(value) if value in vocabulary else -1)
    for name, facet in (("theme", "themes"), ("region", "regions"), ("author", "authors")):
        if active.get(name):
            mask &= index.carrying(facet, active[name])
    for tag in active.get("tag") or []:
        mask &= index.carrying("tags", tag)
    if active.get("year"):
        mask &= index.year == int(active["year"])
    if active.get("year_from"):
        mask &= index.year >= int(active["year_from"])
    if active.get("year_to"):
        mask &= index.year <= int(active["year_to"])
    return mask


def _compute_facets(active: dict, subject, lookup: str) -> dict[str, list[dict]]:
    index = facet_index.current()
    mask = selection(index, active, subject, lookup)
    labels = {"kind": dict(Publication.Kind.choices), "language": dict(Language.choices)}
    facets: dict[str, list[dict]] = {}
    for name, codes, vocabulary in (
        ("kind", index.kind, index.kinds),
        ("language", index.language, index.languages),
    ):
        counts = np.bincount(codes[mask & (codes >= 0)], minlength=len(vocabulary))
        items = [
            {"value": value, "label": labels[name].get(value, value), "count": int(counts[code])}
            for code, value in enumerate(vocabulary)
            if counts[code]
        ]
        facets[name] = sorted(items, key=lambda item: -item["count"])
    # Only what the page shows: the most frequent values and the selected ones (a dict per author of a
    # 100,000-publication index would cost more than the counting).
    for name, facet in (("theme", "themes"), ("region", "regions"), ("tag", "tags"), ("author", "authors")):
        links = getattr(index, facet)
        counts = links.counts(mask)
        selected = active.get(name) or []
        keep = set(selected if isinstance(selected, list) else [selected])
        facets[name] = [
            {"value": links.keys[code], "label": links.labels[code], "count": int(counts[code])}
            for code in links.top(counts, FACET_LIMIT, keep)
        ]
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
