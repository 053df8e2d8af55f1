"""Forms of the mailing list: subscribing (footer and /newsletter/) and preferences."""

from __future__ import annotations

import time

from django import forms
from django.conf import settings
from django.core import signing
from django.urls import reverse_lazy
from django.utils.html import format_html

from newsletter.services import CONSENT_TEXT
from publications.models import Region, Theme

FORM_STAMP_SALT = "newsletter.form-stamp"


def form_stamp() -> str:
    """A signed "form shown at" moment, checked when the form comes back (no query, cache-safe)."""
    return signing.Signer(salt=FORM_STAMP_SALT).sign_object({"t": round(time.time(), 2)})


class TopicChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def _check_values(self, value):
        # Ids the database cannot even hold (SQLite overflows past 64 bits) are just invalid choices.
        for pk in value:
            if not str(pk).isdigit() or int(pk) >= 2**63:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": str(pk)[:20]},
                )
        return super()._check_values(value)


class SubscribeForm(forms.Form):
    """Email, optional name and topics, consent; plus the honeypot and the time stamp."""

    FORMS = {"footer", "page"}

    email = forms.EmailField(
        label="Email address",
        max_length=254,
        error_messages={
            "required": "Please enter your email address.",
            "invalid": "Please enter a valid email address, like name@example.org.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "name@example.org"}),
    )
    name = forms.CharField(label="Name (optional)", max_length=200, required=False)
    themes = TopicChoiceField(queryset=Theme.objects.all(), required=False)
    regions = TopicChoiceField(queryset=Region.objects.all(), required=False)
    consent = forms.BooleanField(
        error_messages={"required": "Please tick the box to agree, so that we may send you the newsletter."},
    )
    # Honeypot: hidden from people by CSS; bots fill every field.
    website = forms.CharField(required=False, label="Leave this field empty")
    stamp = forms.CharField(widget=forms.HiddenInput, required=False)
    form = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consent"].label = format_html(
            '{} <a href="{}">Privacy notice</a>', CONSENT_TEXT, reverse_lazy("newsletter:privacy")
        )
        self.fields["stamp"].initial = form_stamp()
        self.fields["form"].initial = "page"

    @property
    def is_spam(self) -> bool:
        """The honeypot was filled: answer as if all went well, do nothing."""
        return bool(self.data.get("website"))

    def clean_form(self) -> str:
        value = self.cleaned_data.get("form") or "page"
        return value if value in self.FORMS else "page"

    def clean_stamp(self) -> str:
        try:
            shown_at = float(
                signing.Signer(salt=FORM_STAMP_SALT).unsign_object(self.cleaned_data["stamp"])["t"]
            )
        except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
            raise forms.ValidationError(
                "This form could not be checked. Please submit it again.", code="stamp"
            ) from error
        age = time.time() - shown_at
        if age < settings.NEWSLETTER_FORM_MIN_SECONDS:
            raise forms.ValidationError(
                "That was quick! Please check your details and submit the form again.", code="too_fast"
            )
        if age > settings.NEWSLETTER_FORM_MAX_AGE:
            raise forms.ValidationError("This form has expired. Please submit it again.", code="expired")
        return self.cleaned_data["stamp"]


class PreferencesForm(forms.Form):
    name = forms.CharField(label="Name (optional)", max_length=200, required=False)
    themes = TopicChoiceField(
        queryset=Theme.objects.all(), required=False, help_text="None chosen: every theme."
    )
    regions = TopicChoiceField(
        queryset=Region.objects.all(), required=False, help_text="None chosen: every region."
    )
