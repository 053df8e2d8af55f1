"""``publications.related``: the bylines, themes, regions and tags of many publications at once, and
the relations of the publication page as model instances."""

from __future__ import annotations

import numpy as np
import pytest

from authors.models import Author
from publications.models import Publication, Reference
from publications.related import Byline, Related, attach_related, prefetch_detail, prefetch_topics, related
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


def test_prefetch_detail_reads_the_publication_page_relations_in_three_queries(django_assert_num_queries):
    """Authorships (with authors and organizations), references, and the themes, regions and tags
    together: then every reader of ``.all()`` runs no query and gets the models' whole rows."""
    zoe, ali = AuthorFactory(given_name="Zoe", family_name="Adams"), AuthorFactory(given_name="Ali")
    trade, energy = ThemeFactory(name="Trade", description="Goods"), ThemeFactory(name="Energy")
    pacific, andes = RegionFactory(name="Pacific"), RegionFactory(name="Andes")
    first = PublicationFactory(
        authors=[zoe, ali], themes=[trade, energy], regions=[pacific, andes], tags=["water", "Дамбы"]
    )
    second = PublicationFactory(authors=[ali], themes=[trade], regions=[], tags=["<b>dams</b>"])
    later = Reference.objects.create(publication=first, position=2, text="Later, B.")
    earlier = Reference.objects.create(publication=first, position=1, text="Earlier, A.")
    organization = Author.objects.get(pk=zoe.pk).organization
    fresh = list(Publication.objects.filter(pk__in=[first.pk, second.pk]).order_by("pk"))
    with django_assert_num_queries(3):
        first_read, second_read = prefetch_detail(fresh)
    with django_assert_num_queries(0):
        assert [theme.name for theme in first_read.themes.all()] == ["Energy", "Trade"]
        assert [theme.description for theme in first_read.themes.all()] == ["", "Goods"]
        assert [region.slug for region in first_read.regions.all()] == [andes.slug, pacific.slug]
        assert sorted(tag.name for tag in first_read.tags.all()) == ["water", "Дамбы"]
        assert [item.author.pk for item in first_read.authorships.all()] == [zoe.pk, ali.pk]
        assert first_read.authorships.all()[0].author.organization == organization
        assert list(first_read.references.all()) == [earlier, later]
        assert list(second_read.references.all()) == []
        assert [theme.pk for theme in second_read.themes.all()] == [trade.pk]
        assert list(second_read.regions.all()) == []
        assert [tag.name for tag in second_read.tags.all()] == ["<b>dams</b>"]
    assert first_read.themes.all()[0] == energy and first_read.themes.all()[0]._state.adding is False


def test_prefetched_topics_stay_the_publications_own_when_narrowed():
    """A reader that filters the prefetched themes or tags asks SQL about this publication only."""
    energy, trade = ThemeFactory(name="Energy"), ThemeFactory(name="Trade")
    mine = PublicationFactory(themes=[energy], tags=["water"])
    PublicationFactory(themes=[trade], tags=["wind"])
    (read,) = prefetch_topics([Publication.objects.get(pk=mine.pk)])
    assert list(read.themes.filter(name__startswith="T")) == []
    assert list(read.themes.exclude(pk=0)) == [energy]
    assert [tag.name for tag in read.tags.order_by("name")] == ["water"]
    assert prefetch_topics([]) == []
