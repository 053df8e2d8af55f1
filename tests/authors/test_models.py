"""Model rules and database constraints of authors."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from authors.models import Author
from center.identifiers import orcid_checksum
from tests.factories import AuthorFactory

pytestmark = pytest.mark.django_db


def test_valid_orcid_accepted():
    """A well-formed ORCID iD with the right check digit passes validation."""
    author = AuthorFactory.build(orcid="0000-0002-1825-0097")
    author.full_clean(exclude=["organization"])
    assert author.orcid_url == "https://orcid.org/0000-0002-1825-0097"


def test_orcid_url_is_normalised():
    """An ORCID pasted as a URL is stored as the bare iD."""
    author = AuthorFactory.build(orcid="https://orcid.org/0000-0002-1825-0097")
    author.full_clean(exclude=["organization"])
    assert author.orcid == "0000-0002-1825-0097"


def test_orcid_wrong_check_digit_rejected():
    """A typo in an ORCID iD is caught by its check digit."""
    author = AuthorFactory.build(orcid="0000-0002-1825-0098")
    with pytest.raises(ValidationError) as error:
        author.full_clean(exclude=["organization"])
    assert "check digit" in str(error.value)


def test_malformed_orcid_rejected_by_database():
    """The database refuses an ORCID that is not four groups of four."""
    with pytest.raises(IntegrityError), transaction.atomic():
        AuthorFactory(orcid="1234")


def test_orcid_unique():
    """Two authors cannot share an ORCID iD."""
    AuthorFactory(orcid="0000-0002-1825-0097")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuthorFactory(orcid="0000-0002-1825-0097")


def test_orcid_checksum_known_values():
    """The ISO 7064 check character matches ORCID's published examples."""
    assert orcid_checksum("000000021825009") == "7"
    assert orcid_checksum("000000021694233") == "X"


def test_duplicate_author_slug_rejected():
    """Author slugs are unique."""
    AuthorFactory(slug="anna-petrova")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuthorFactory(slug="anna-petrova")


def test_author_names():
    """Full and sort names are built from the name parts."""
    author = Author(given_name="Anna", family_name="Petrova")
    assert (author.full_name, author.sort_name, str(author)) == (
        "Anna Petrova",
        "Petrova, Anna",
        "Anna Petrova",
    )
