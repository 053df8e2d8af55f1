"""factory_boy factories for every model the tests build."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from authors.models import Author, Organization
from newsletter.models import Subscriber
from publications.models import Authorship, Publication, Reference, Region, Theme


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Institute of Policy Studies {n}")
    city = "Vienna"
    country = "Austria"


class AuthorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Author

    given_name = factory.Sequence(lambda n: f"Anna{n}")
    family_name = factory.Sequence(lambda n: f"Petrova{n}")
    slug = factory.Sequence(lambda n: f"anna-petrova-{n}")
    organization = factory.SubFactory(OrganizationFactory)
    degree = "PhD in History"
    position = "Leading Researcher"


class ThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Theme

    name = factory.Sequence(lambda n: f"Economics {n}")
    slug = factory.Sequence(lambda n: f"economics-{n}")


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region

    name = factory.Sequence(lambda n: f"Asia {n}")
    slug = factory.Sequence(lambda n: f"asia-{n}")


class PublicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Publication
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Trade and Security in Central Asia, part {n}")
    slug = factory.Sequence(lambda n: f"trade-and-security-{n}")
    kind = Publication.Kind.REPORT
    status = Publication.Status.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    abstract = "How regional trade agreements change security cooperation."

    @factory.post_generation
    def authors(self, create, extracted, **kwargs):
        if create and extracted:
            for position, author in enumerate(extracted, start=1):
                Authorship.objects.create(publication=self, author=author, position=position)

    @factory.post_generation
    def themes(self, create, extracted, **kwargs):
        if create and extracted:
            self.themes.set(extracted)

    @factory.post_generation
    def regions(self, create, extracted, **kwargs):
        if create and extracted:
            self.regions.set(extracted)

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set(extracted)


class ReferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reference

    publication = factory.SubFactory(PublicationFactory)
    position = factory.Sequence(int)
    text = "Smith J. Regional integration in Eurasia. Journal of Policy 2019; 12(3): 45-67."


class SubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscriber

    email = factory.Sequence(lambda n: f"reader{n}@example.org")
    status = Subscriber.Status.ACTIVE


class UserFactory(factory.django.DjangoModelFactory):
    """A staff user; pass ``groups=["Editor"]`` or ``["Contributor"]`` for a role."""

    class Meta:
        model = "auth.User"
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    is_staff = True
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            from django.contrib.auth.models import Group

            self.groups.set(Group.objects.filter(name__in=extracted))


def small_pdf() -> bytes:
    """A valid one-page PDF, blank."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=300, height=300)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
