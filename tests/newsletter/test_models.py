"""Database rules of the mailing list."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def test_subscriber_email_unique_regardless_of_case():
    """The same address in another case is the same subscriber."""
    SubscriberFactory(email="Reader@Example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        SubscriberFactory(email="reader@example.ORG")
