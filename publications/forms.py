"""Admin forms for the editorial workflow."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.forms.models import BaseInlineFormSet

from publications.models import Authorship, Figure, Publication
from publications.references import ParsedReference, parse_reference_list
from publications.sanitize import plain_text, sanitize_html
from publications.services import publication_check_transition
from publications.validators import process_cover_image, process_figure_image, validate_pdf_upload

Status = Publication.Status


class RichTextarea(forms.Textarea):
    """A textarea with a small formatting toolbar (static/js/richtext-editor.js, no CDN)."""

    class Media:
        js = ["js/richtext-editor.js"]
        css = {"all": ["css/editorial-admin.css"]}

    def __init__(self, attrs=None):
        super().__init__(attrs={"rows": 20, "class": "vLargeTextField", "data-richtext": "", **(attrs or {})})


class PublicationAdminForm(forms.ModelForm):
    """The publication form: sanitized body, checked uploads, workflow rules, optimistic locking."""

    # Which stored version this form was loaded from (optimistic locking).
    edit_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    references_paste = forms.CharField(
        label="Paste a reference list",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "class": "vLargeTextField"}),
        help_text=(
            "Paste a whole numbered list; each entry becomes a reference below (added after the "
            "existing ones). Numbering is removed; DOIs, URLs, access dates and “(In Russian)” "
            "notes go to their own fields."
        ),
    )
    workflow_comment = forms.CharField(
        label="Comment for the author",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "vLargeTextField"}),
        help_text="Required when sending a publication in review back to draft; kept in the history.",
    )

    # The admin sets the user editing this form (see PublicationAdmin.get_form).
    user = None

    class Meta:
        model = Publication
        fields = "__all__"  # noqa: DJ007 - the admin narrows it to its fieldsets
        widgets = {"body": RichTextarea}

    # The admin sets the history row being restored, if any (see PublicationAdmin.get_form).
    restoring = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parsed_references: list[ParsedReference] = []
        self.from_status = self.instance.status
        if self.instance.pk and not self.is_bound:
            # The version stored now: also right when restoring an old version from the history.
            stored = Publication.objects.filter(pk=self.instance.pk).values_list("version", flat=True).first()
            self.initial["edit_version"] = stored or self.instance.version
            if self.restoring is not None and self.restoring.related is not None:
                # The restored version's themes, regions and tags, not today's.
                from publications.history import snapshot_initial

                self.initial.update(snapshot_initial(self.restoring.related))

    def clean_body(self) -> str:
        return sanitize_html(self.cleaned_data.get("body", ""))

    def clean_abstract(self) -> str:
        # The abstract is plain text (shown escaped, and in metadata): no markup at all.
        return plain_text(self.cleaned_data.get("abstract", ""))

    def clean_pdf(self):
        pdf = self.cleaned_data.get("pdf")
        if isinstance(pdf, UploadedFile):
            validate_pdf_upload(pdf)
        return pdf

    def clean_cover_image(self):
        image = self.cleaned_data.get("cover_image")
        if isinstance(image, UploadedFile):
            return process_cover_image(image)
        return image

    def clean_references_paste(self) -> str:
        pasted = self.cleaned_data.get("references_paste", "")
        self.parsed_references = parse_reference_list(pasted)
        if pasted.strip() and not self.parsed_references:
            raise ValidationError("No references were found in the pasted text.")
        return pasted

    def clean(self):
        cleaned = super().clean()
        stored = None
        if self.instance.pk:
            stored_rows = Publication.objects.filter(pk=self.instance.pk)
            if transaction.get_connection().in_atomic_block:
                # The admin validates and saves in one transaction: holding the row from here on
                # (PostgreSQL) means nobody can save in between this check and our save.
                stored_rows = stored_rows.select_for_update()
            stored = stored_rows.values("status", "version").first()
        if stored is not None:
            edit_version = cleaned.get("edit_version")
            if edit_version is not None and edit_version != stored["version"]:
                raise ValidationError(
                    "Someone else saved this publication while you were editing it (you started from "
                    "version %(mine)s, it is now version %(theirs)s). Open it again in a new tab to see "
                    "their changes, then redo yours.",
                    code="conflict",
                    params={"mine": edit_version, "theirs": stored["version"]},
                )
        from_status = self.from_status = stored["status"] if stored else Status.DRAFT
        to_status = cleaned.get("status")
        if to_status and self.user is not None:
            try:
                publication_check_transition(
                    user=self.user, publication=self.instance, from_status=from_status, to_status=to_status
                )
            except PermissionDenied as denied:
                self.add_error("status", str(denied))
            else:
                sending_back = from_status == Status.REVIEW and to_status == Status.DRAFT
                if sending_back and not cleaned.get("workflow_comment", "").strip():
                    self.add_error(
                        "workflow_comment", "Say what should change before sending it back to draft."
                    )
        return cleaned

    def change_reason(self) -> str:
        """The history note for this save: the comment, marked as a send-back where it is one."""
        comment = self.cleaned_data.get("workflow_comment", "").strip()
        if comment and self.from_status == Status.REVIEW and self.instance.status == Status.DRAFT:
            return f"Sent back: {comment}"
        return comment


class OrderedInlineFormSet(BaseInlineFormSet):
    """Rows left at position 0 take their place in the form's order (1, 2, 3...)."""

    def _number(self, form) -> None:
        if not form.instance.position:
            form.instance.position = self.forms.index(form) + 1

    def save_new(self, form, commit=True):
        self._number(form)
        return super().save_new(form, commit=commit)

    def save_existing(self, form, obj, commit=True):
        self._number(form)
        return super().save_existing(form, obj, commit=commit)


class AuthorshipInlineFormSet(OrderedInlineFormSet):
    """At most one author for correspondence, said clearly instead of a database error."""

    def clean(self) -> None:
        super().clean()
        corresponding = [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("is_corresponding")
        ]
        if len(corresponding) > 1:
            names = ", ".join(str(form.cleaned_data.get("author")) for form in corresponding)
            raise ValidationError(
                "Only one author can be the author for correspondence (ticked for: %(names)s).",
                code="corresponding",
                params={"names": names},
            )

    def save(self, commit: bool = True):
        chosen = [
            form.instance.pk
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("is_corresponding")
        ]
        if commit and chosen and self.instance.pk:
            # Moving the flag from one author to another: clear the old one first, or the
            # database constraint trips when the new one is saved before the old one.
            Authorship.objects.filter(publication=self.instance, is_corresponding=True).exclude(
                pk__in=[pk for pk in chosen if pk]
            ).update(is_corresponding=False)
        return super().save(commit=commit)


class FigureForm(forms.ModelForm):
    """A figure of the body: a real, size-checked image (scaled down), alternative text, caption."""

    class Meta:
        model = Figure
        fields = ["position", "image", "alt_text", "caption"]
        widgets = {"caption": forms.Textarea(attrs={"rows": 2, "cols": 40})}

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if isinstance(image, UploadedFile):
            image, self.instance.width, self.instance.height = process_figure_image(image)
        return image

    def clean_alt_text(self) -> str:
        alt_text = plain_text(self.cleaned_data.get("alt_text", ""))
        if not alt_text:
            raise ValidationError("Describe what the image shows.", code="alt_required")
        return alt_text

    def clean_caption(self) -> str:
        return plain_text(self.cleaned_data.get("caption", ""))


class FigureInlineFormSet(OrderedInlineFormSet):
    """Each figure of a publication has its own number: ``[figure N]`` must name one."""

    def clean(self) -> None:
        super().clean()
        seen: set[int] = set()
        for index, form in enumerate(self.forms):
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            number = data.get("position") or index + 1
            if number in seen:
                raise ValidationError(
                    "Two figures have the number %(number)s; give each its own.",
                    code="figure_number",
                    params={"number": number},
                )
            seen.add(number)


class AddTagsForm(forms.Form):
    """The intermediate page of the "add tag" bulk action."""

    tags = forms.CharField(
        label="Tags to add", max_length=500, help_text="Separate several tags with commas."
    )

    def clean_tags(self) -> list[str]:
        tags = [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]
        if not tags:
            raise ValidationError("Enter at least one tag.")
        if any(len(tag) > 100 for tag in tags):
            raise ValidationError("A tag can be at most 100 characters long.")
        return tags
