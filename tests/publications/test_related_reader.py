"""``publications.related``: the bylines, themes, regions and tags of many publications at once."""

from __future__ import annotations

import numpy as np
import pytest

from publications.related import Byline, Related, attach_related, related
from tests.factories import AuthorFactory, PublicationFactory, RegionFactory, ThemeFactory

pytestmark = pytest.mark.django_db


def test_each_kind_in_its_display_order_for_each_publication(django_assert_num_queries):
    """Authors in byline order, themes and regions by name, tags sorted; one query for all."""
    zoe, ali = AuthorFactory(given_name="Zoe", family_name="Adams"), AuthorFactory(given_name="Ali")
    trade, energy = ThemeFactory(name="Trade"), ThemeFactory(name="Energy")
    pacific = RegionFactory(name="Pacific")
    first = PublicationFactory(
        authors=[zoe, ali], themes=[trade, energy], regions=[pacific], tags=["water", "<b>dams</b>"]
    )
    second = PublicationFactory(authors=[ali, zoe], themes=[trade], regions=[], tags=[])
    bare = PublicationFactory(authors=[], themes=[], regions=[], tags=[])
    with django_assert_num_queries(1):
        found = related(np.array([first.pk, second.pk, bare.pk]), tags=True)  # numpy's ids too
    assert found[first.pk] == Related(
        authors=[Byline("Zoe", "Adams", zoe.slug), Byline("Ali", ali.family_name, ali.slug)],
        themes=[(energy.slug, "Energy"), (trade.slug, "Trade")],
        regions=[(pacific.slug, "Pacific")],
        tags=["<b>dams</b>", "water"],
    )
    assert found[second.pk] == Related(
        authors=[Byline("Ali", ali.family_name, ali.slug), Byline("Zoe", "Adams", zoe.slug)],
        themes=[(trade.slug, "Trade")],
    )
    assert bare.pk not in found


def test_only_what_is_asked_for():
    """Without authors or tags asked for, none are read; no ids, no query."""
    publication = PublicationFactory(authors=[AuthorFactory()], themes=[ThemeFactory()], tags=["water"])
    found = related([publication.pk], authors=False)
    assert found[publication.pk].authors == [] and found[publication.pk].tags == []
    assert len(found[publication.pk].themes) == 1
    assert related([]) == {}


def test_attach_related_gives_every_publication_its_names():
    """Each publication gets ``related``, an empty one when it has no authors, themes or regions."""
    theme = ThemeFactory(name="Energy")
    named = PublicationFactory(authors=[], themes=[theme], regions=[], tags=[])
    bare = PublicationFactory(authors=[], themes=[], regions=[], tags=[])
    named, bare = attach_related([named, bare])
    assert named.related.themes == [(theme.slug, "Energy")]
    assert bare.related == Related()
