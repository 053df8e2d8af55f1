"""Public pages of authors: the A–Z list and each author's profile with publications."""

from __future__ import annotations

import string

from django.db.models import Q
from django.views.generic import ListView

from authors.models import Author
from publications import search
from publications.models import Publication
from publications.views import GracefulPaginationMixin, cached_by_slug

LETTERS = list(string.ascii_uppercase)


class AuthorListView(GracefulPaginationMixin, ListView):
    """``/authors/``: A–Z (``?letter=P``), searchable by name (``?q=``), paginated."""

    paginate_by = 50
    template_name = "authors/author_list.html"
    context_object_name = "authors"

    def get_queryset(self):
        authors = Author.objects.select_related("organization").only(
            "given_name", "family_name", "slug", "position", "organization__name"
        )
        self.letter = self.request.GET.get("letter", "").strip().upper()[:1]
        if self.letter not in LETTERS:
            self.letter = ""
        if self.letter:
            authors = authors.filter(family_name__istartswith=self.letter)
        # Control characters are never part of a name (and PostgreSQL refuses NUL in a query).
        self.query = search.clean_text(self.request.GET.get("q", ""))[:100]
        for word in self.query.split()[:5]:
            authors = authors.filter(Q(family_name__icontains=word) | Q(given_name__icontains=word))
        return authors.order_by("family_name", "given_name", "pk")

    def get_context_data(self, **kwargs):
        return super().get_context_data(letters=LETTERS, letter=self.letter, query=self.query, **kwargs)


class AuthorDetailView(GracefulPaginationMixin, ListView):
    """``/authors/<slug>/``: the profile and the author's published publications, paginated."""

    template_name = "authors/author_detail.html"
    context_object_name = "publications"

    def get_queryset(self):
        self.author = cached_by_slug(Author.objects.select_related("organization"), self.kwargs["slug"])
        return Publication.objects.published().filter(authorships__author=self.author)

    def paginate_queryset(self, queryset, page_size):
        return super().paginate_queryset(queryset.defer("body", "pdf_text").for_listing(), page_size)

    def list_name(self) -> str:
        return f"author:{self.author.pk}"

    def get_context_data(self, **kwargs):
        return super().get_context_data(author=self.author, **kwargs)
