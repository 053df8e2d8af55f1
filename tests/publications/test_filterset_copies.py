"""The index's filterset and form copy their filters and fields shallowly: nothing of one request
may reach another."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from publications.filters import PublicationFilter
from publications.models import Publication
from tests.factories import PublicationFactory

pytestmark = pytest.mark.django_db


def year(value: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime(value, 6, 1))


def test_each_filterset_has_its_own_filters_bound_to_it():
    first = PublicationFilter({"year": "2020"}, queryset=Publication.objects.published())
    second = PublicationFilter({"year": "2021"}, queryset=Publication.objects.published())
    for name, filter_ in first.filters.items():
        assert filter_ is not second.filters[name]
        assert filter_ is not PublicationFilter.base_filters[name]
        assert filter_.parent is first and second.filters[name].parent is second
        assert filter_.model is Publication
    assert not hasattr(PublicationFilter.base_filters["year"], "parent")  # the class's are untouched
    # A method filter finds its own filterset's method, not the one of the filterset made last.
    assert first.filters["year"].filter.f is first.filters["year"]


def test_interleaved_filtersets_filter_by_their_own_values():
    old = PublicationFactory(title="From 2020", published_at=year(2020))
    new = PublicationFactory(title="From 2021", published_at=year(2021))
    first = PublicationFilter({"year": "2020"}, queryset=Publication.objects.published())
    second = PublicationFilter({"year": "2021", "sort": "oldest"}, queryset=Publication.objects.published())
    assert list(second.qs) == [new]
    assert list(first.qs) == [old]


def test_each_form_has_its_own_fields_and_errors():
    bad = PublicationFilter({"year": "abc"}, queryset=Publication.objects.published())
    good = PublicationFilter({"year": "2020"}, queryset=Publication.objects.published())
    assert not bad.form.is_valid() and "year" in bad.form.errors
    assert good.form.is_valid() and not good.form.errors
    assert bad.form.fields["year"] is not good.form.fields["year"]
    assert bad.form.fields["year"] is not type(bad.form).base_fields["year"]
    assert good.form.cleaned_data["year"] == 2020
