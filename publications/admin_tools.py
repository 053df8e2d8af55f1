"""Admin additions for scholarly metadata: the Crossref deposit action and the import page.

Kept apart from ``admin.py`` (the editorial workflow) so each stays small;
``PublicationAdmin`` mixes these in.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
import zipfile

from django import forms
from django.contrib import admin, messages
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from publications.crossref import deposit_files, deposit_problems, for_deposit
from publications.imports import FORMATS, MAX_FILE_SIZE, detect_format, publications_import

# Where uploads wait between the preview and the confirmation (a random 128-bit name each).
UPLOAD_DIR = "imports"


@admin.action(description="Export Crossref deposit XML")
def export_crossref_deposit(modeladmin, request, queryset):
    """Download the deposit XML of the selected publications (a ZIP when they need several files)."""
    publications = list(for_deposit(queryset))
    ready, skipped = [], []
    for publication in publications:
        problems = deposit_problems(publication)
        (skipped if problems else ready).append((publication, problems))
    for publication, problems in skipped:
        modeladmin.message_user(
            request, f"Not exported: “{publication}” {', '.join(problems)}.", messages.WARNING
        )
    if not ready:
        modeladmin.message_user(
            request, "None of the selected publications can be deposited.", messages.ERROR
        )
        return None
    files = deposit_files([publication for publication, _ in ready])
    if len(files) == 1:
        response = HttpResponse(files[0].xml, content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{files[0].filename}"'
        return response
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for deposit in files:
            archive.writestr(deposit.filename, deposit.xml)
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="crossref-deposit.zip"'
    return response


# Import page -----------------------------------------------------------------


class PublicationImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV (columns in the README), BibTeX (.bib), RIS (.ris) or CSL-JSON (.json)."
    )
    format = forms.ChoiceField(
        choices=[("", "From the file name")] + [(name, name) for name in FORMATS],
        required=False,
    )
    skip_invalid = forms.BooleanField(
        required=False, label="Skip invalid rows (import the valid ones and list the skipped ones)"
    )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is None:
            return cleaned
        if upload.size > MAX_FILE_SIZE:
            raise forms.ValidationError(f"The file is larger than {MAX_FILE_SIZE // (1024 * 1024)} MB.")
        if not cleaned.get("format"):
            try:
                cleaned["format"] = detect_format(upload.name)
            except ValueError as error:
                raise forms.ValidationError(str(error)) from error
        return cleaned


class _ConfirmForm(forms.Form):
    token = forms.RegexField(regex=r"^[0-9a-f]{32}$")
    format = forms.ChoiceField(choices=[(name, name) for name in FORMATS])
    skip_invalid = forms.BooleanField(required=False)


def _remove_stale_uploads(max_age: dt.timedelta = dt.timedelta(days=1)) -> None:
    """Delete uploads whose import was never confirmed."""
    try:
        _, names = default_storage.listdir(UPLOAD_DIR)
    except FileNotFoundError:
        return
    limit = timezone.now() - max_age
    for name in names:
        path = f"{UPLOAD_DIR}/{name}"
        try:
            if default_storage.get_modified_time(path) < limit:
                default_storage.delete(path)
        except (FileNotFoundError, NotImplementedError):
            continue


class PublicationImportAdminMixin:
    """Adds "Import publications" (upload, dry-run preview, confirm) under the publication list."""

    change_list_template = "admin/publications/publication/change_list.html"

    def get_urls(self):
        urls = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="publications_publication_import",
            )
        ]
        return urls + super().get_urls()

    @staticmethod
    def _stored_name(token: str) -> str:
        return f"{UPLOAD_DIR}/{token}.upload"

    def import_view(self, request):
        if not self.has_add_permission(request) or not self.has_change_permission(request):
            return redirect("admin:index")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import publications",
        }
        if request.method == "POST" and "confirm" in request.POST:
            confirm = _ConfirmForm(request.POST)
            name = self._stored_name(confirm.data.get("token", "")) if confirm.is_valid() else ""
            if not name or not default_storage.exists(name):
                messages.error(request, "The uploaded file has expired; please upload it again.")
                return redirect("admin:publications_publication_import")
            with default_storage.open(name, "rb") as stored:
                report = publications_import(
                    file=stored,
                    format=confirm.cleaned_data["format"],
                    skip_invalid=confirm.cleaned_data["skip_invalid"],
                )
            default_storage.delete(name)
            if report.committed:
                messages.success(request, report.summary())
                if report.invalid_rows:
                    context.update(report=report, form=PublicationImportForm(), done=True)
                    return TemplateResponse(request, "admin/publications/publication/import.html", context)
                return redirect("admin:publications_publication_changelist")
            context.update(report=report, form=PublicationImportForm())
            return TemplateResponse(request, "admin/publications/publication/import.html", context)

        form = PublicationImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            report = publications_import(
                file=content,
                format=form.cleaned_data["format"],
                dry_run=True,
                skip_invalid=form.cleaned_data["skip_invalid"],
            )
            context.update(report=report, form=form)
            if report.ok:
                _remove_stale_uploads()
                token = uuid.uuid4().hex
                default_storage.save(self._stored_name(token), ContentFile(content))
                context["confirm"] = {
                    "token": token,
                    "format": form.cleaned_data["format"],
                    "skip_invalid": form.cleaned_data["skip_invalid"],
                }
        else:
            context["form"] = form
        context["changelist_url"] = reverse("admin:publications_publication_changelist")
        return TemplateResponse(request, "admin/publications/publication/import.html", context)
