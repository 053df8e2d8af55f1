"""Persistent identifiers: DOI and ORCID formats, normalisation and validation.

The regular expressions are also used by database check constraints, so keep
them in the dialect that both SQLite's REGEXP (Python ``re``) and PostgreSQL's
``~`` understand.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

DOI_PATTERN = r"^10\.[0-9]{4,9}/[^ ]+$"
ORCID_PATTERN = r"^[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{3}[0-9X]$"

_DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:")
_ORCID_PREFIXES = ("https://orcid.org/", "http://orcid.org/")


def normalize_doi(value: str) -> str:
    """Strip resolver prefixes and whitespace: ``https://doi.org/10.1/x`` -> ``10.1/x``."""
    value = (value or "").strip()
    lowered = value.lower()
    for prefix in _DOI_PREFIXES:
        if lowered.startswith(prefix):
            return value[len(prefix) :].strip()
    return value


def validate_doi(value: str) -> None:
    if value and not re.match(DOI_PATTERN, value):
        raise ValidationError(
            "Enter a DOI such as 10.1234/abc.2024.1 (without https://doi.org/).",
            code="invalid_doi",
        )


def normalize_orcid(value: str) -> str:
    value = (value or "").strip()
    for prefix in _ORCID_PREFIXES:
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
    return value.upper()


def orcid_checksum(base_digits: str) -> str:
    """ISO 7064 11,2 check character for the first fifteen ORCID digits."""
    total = 0
    for digit in base_digits:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def validate_orcid(value: str) -> None:
    if not value:
        return
    if not re.match(ORCID_PATTERN, value):
        raise ValidationError("Enter an ORCID iD such as 0000-0002-1825-0097.", code="invalid_orcid")
    digits = value.replace("-", "")
    if orcid_checksum(digits[:-1]) != digits[-1]:
        raise ValidationError("This ORCID iD has a wrong check digit.", code="invalid_orcid")
