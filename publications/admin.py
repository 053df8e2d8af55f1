"""The editorial tool: publications, their authors and references, and the workflow.

Permissions are checked on the server for every path (change form, bulk actions,
history restore); see :mod:`publications.services` for the rules and
:mod:`publications.roles` for the Editor and Contributor groups.
"""

from __future__ import annotations

import difflib
import itertools

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Prefetch
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from simple_history.admin import SimpleHistoryAdmin

from publications.admin_tools import PublicationImportAdminMixin, export_crossref_deposit
from publications.forms import (
    AddTagsForm,
    AuthorshipInlineFormSet,
    FigureForm,
    FigureInlineFormSet,
    OrderedInlineFormSet,
    PublicationAdminForm,
)
from publications.history import history_capture_related, publication_restore_related, related_changes
from publications.models import (
    Authorship,
    Figure,
    Publication,
    Reaction,
    Reference,
    Region,
    SearchDocument,
    Theme,
)
from publications.services import (
    publication_add_tags,
    publication_can_edit,
    publication_can_publish,
    publication_publish,
    publication_save,
    publication_submit_for_review,
    publication_unpublish,
)

Status = Publication.Status


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class AuthorshipInline(admin.TabularInline):
    model = Authorship
    formset = AuthorshipInlineFormSet
    extra = 0
    autocomplete_fields = ["author"]
    fields = ["position", "author", "is_corresponding"]
    ordering = ["position", "pk"]
    verbose_name = "author"
    verbose_name_plural = "authors (in byline order; “+” next to a name creates a new author)"


class ReferenceInline(admin.TabularInline):
    model = Reference
    formset = OrderedInlineFormSet
    extra = 0
    fields = ["position", "text", "doi", "url", "accessed_on", "language"]
    ordering = ["position", "pk"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "text":
            field.widget.attrs.update(rows=2, cols=60)
        return field


def figure_preview(figure: Figure):
    """A thumbnail of the figure and the shortcode that places it in the body."""
    if not figure.pk or not figure.image:
        return "Save to get the code that places this figure in the body."
    return format_html(
        '<img src="{}" alt="" width="80" class="figure-thumb" loading="lazy"> '
        "Type <code>{}</code> in the body where it goes.",
        figure.image.url,
        figure.shortcode,
    )


class FigureInline(admin.TabularInline):
    model = Figure
    form = FigureForm
    formset = FigureInlineFormSet
    extra = 0
    fields = ["position", "image", "alt_text", "caption", "preview"]
    readonly_fields = ["preview"]
    ordering = ["position", "pk"]
    verbose_name_plural = "figures (JPEG, PNG or WebP; placed in the body with [figure N])"

    @admin.display(description="in the body")
    def preview(self, obj: Figure):
        return figure_preview(obj)


class PublishedYearFilter(admin.SimpleListFilter):
    title = "year"
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = Publication.objects.dates("published_at", "year", order="DESC")
        return [(str(year.year), str(year.year)) for year in years]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(published_at__year=int(self.value()))
        return queryset


class StatusFilter(admin.SimpleListFilter):
    """Draft, in review, scheduled (published with a future date) or public."""

    title = "status"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("draft", "Draft"),
            ("review", "In review"),
            ("scheduled", "Scheduled"),
            ("published", "Published (public)"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value in ("draft", "review"):
            return queryset.filter(status=value)
        if value == "scheduled":
            return queryset.scheduled()
        if value == "published":
            return queryset.published()
        return queryset


class HasPdfFilter(admin.SimpleListFilter):
    title = "PDF"
    parameter_name = "has_pdf"

    def lookups(self, request, model_admin):
        return [("yes", "With PDF"), ("no", "Without PDF")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(pdf="")
        if self.value() == "no":
            return queryset.filter(pdf="")
        return queryset


@admin.register(Publication)
class PublicationAdmin(PublicationImportAdminMixin, SimpleHistoryAdmin):
    form = PublicationAdminForm
    list_display = ["thumbnail", "title", "kind", "status_label", "published_at", "byline", "featured"]
    list_display_links = ["thumbnail", "title"]
    list_filter = [StatusFilter, "kind", "themes", "regions", PublishedYearFilter, HasPdfFilter, "language"]
    search_fields = ["title", "subtitle", "doi", "authors__family_name", "authors__given_name"]
    search_help_text = "Search by title, DOI or author name."
    date_hierarchy = "published_at"
    list_per_page = 50
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["themes", "regions"]
    inlines = [AuthorshipInline, ReferenceInline, FigureInline]
    actions = ["publish", "unpublish", "submit_for_review", "add_tags", export_crossref_deposit]
    readonly_fields = ["pdf_thumbnail_preview", "pdf_text_status", "workflow_notes", "created_by", "version"]
    history_list_display = ["status", "version", "compare_link"]
    # The "Changes" column also lists authors, references, themes, regions, tags and figures.
    object_history_list_template = "admin/publications/publication/object_history_list.html"
    object_history_form_template = "admin/publications/publication/object_history_form.html"
    save_on_top = True

    class Media:
        css = {"all": ["css/editorial-admin.css"]}

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    "subtitle",
                    "slug",
                    "kind",
                    ("status", "published_at"),
                    "workflow_comment",
                    "workflow_notes",
                    "featured",
                    "edit_version",
                ]
            },
        ),
        ("Content", {"fields": ["abstract", "body", "language"]}),
        ("Files", {"fields": ["pdf", "pdf_text_status", "pdf_thumbnail_preview", "cover_image"]}),
        ("Classification", {"fields": ["themes", "regions", "tags"]}),
        ("Bibliographic", {"fields": ["doi", "container_title", "volume", "issue", "pages"]}),
        ("Rights", {"fields": ["license", "copyright_holder", "copyright_year"]}),
        ("References", {"fields": ["references_paste"]}),
        ("Record", {"classes": ["collapse"], "fields": ["created_by", "version"]}),
    ]

    # Permissions -------------------------------------------------------------

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or publication_can_edit(user=request.user, publication=obj)

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or publication_can_edit(user=request.user, publication=obj)

    def has_publish_permission(self, request) -> bool:
        return publication_can_publish(user=request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not publication_can_publish(user=request.user):
            fields.append("featured")
        return fields

    # The form ------------------------------------------------------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # Each request gets its own form class that knows who is editing.
        form = type(
            form.__name__, (form,), {"user": request.user, "restoring": getattr(request, "restoring", None)}
        )
        if "status" in form.base_fields and not publication_can_publish(user=request.user):
            field = form.base_fields["status"]
            field.choices = [choice for choice in field.choices if choice[0] != Status.PUBLISHED]
        return form

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            queryset = queryset.prefetch_related(
                Prefetch(
                    "authorships", queryset=Authorship.objects.select_related("author").order_by("position")
                )
            )
        return queryset

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        publication_save(
            publication=obj,
            user=request.user,
            expected_version=form.cleaned_data.get("edit_version") if change else None,
            change_reason=form.change_reason(),
        )
        if getattr(request, "restoring", None) is not None:
            # history_form_view puts the old related objects back after this.
            request.restored = obj

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        parsed = form.parsed_references
        if parsed:
            start = form.instance.references.aggregate(last=Max("position"))["last"] or 0
            Reference.objects.bulk_create(
                Reference(
                    publication=form.instance,
                    position=start + offset,
                    text=reference.text,
                    doi=reference.doi,
                    url=reference.url[:1000],
                    accessed_on=reference.accessed_on,
                    language=reference.language,
                )
                for offset, reference in enumerate(parsed, start=1)
            )
            self.message_user(
                request, f"{len(parsed)} reference(s) added from the pasted list.", messages.SUCCESS
            )
        # The history row of this save, completed with the inlines and m2m fields just saved.
        history_capture_related(publication=form.instance)

    def get_urls(self):
        compare = path(
            "<path:object_id>/history/compare/",
            self.admin_site.admin_view(self.history_compare_view),
            name="publications_publication_history_compare",
        )
        return [compare, *super().get_urls()]

    @admin.display(description="compare")
    def compare_link(self, record) -> str:
        url = reverse("admin:publications_publication_history_compare", args=[record.id])
        return format_html(
            '<a href="{}?from={}">compare with the current version</a>', url, record.history_id
        )

    def history_compare_view(self, request, object_id):
        """Field-by-field differences between two saved versions (``from`` and ``to``, default: latest)."""
        publication = self.get_object(request, object_id)
        if publication is None or not self.has_view_or_change_permission(request, publication):
            raise PermissionDenied
        versions = publication.history.select_related("history_user")
        latest = versions.first()
        try:
            older = versions.get(history_id=int(request.GET.get("from", "")))
            newer = versions.get(history_id=int(request.GET.get("to", latest.history_id)))
        except (ValueError, publication.history.model.DoesNotExist):
            messages.error(request, "Choose two versions from the history.")
            return HttpResponseRedirect(
                reverse("admin:publications_publication_history", args=[publication.pk])
            )
        delta = newer.diff_against(older)
        changes = []
        for change in delta.changes:
            field = Publication._meta.get_field(change.field)
            old, new = str(change.old or ""), str(change.new or "")
            lines = None
            if "\n" in old + new or len(old + new) > 200:
                lines = list(
                    difflib.unified_diff(
                        old.splitlines(), new.splitlines(), "before", "after", lineterm="", n=2
                    )
                )
            changes.append({"label": capfirst(field.verbose_name), "old": old, "new": new, "diff": lines})
        changes += related_changes(older.related, newer.related)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Compare versions: {publication}",
            "object": publication,
            "older": older,
            "newer": newer,
            "changes": changes,
            "related_unknown": older.related is None or newer.related is None,
        }
        return TemplateResponse(request, "admin/publications/publication/history_compare.html", context)

    def import_view(self, request):
        # An import creates and updates publications as published: an editor's job.
        if not publication_can_publish(user=request.user):
            raise PermissionDenied
        return super().import_view(request)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """The history page's "Changes": the publication's fields, then its related objects."""
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        records = list(historical_records)
        for newer, older in itertools.pairwise(records):
            related = [
                {"field": change["label"], "old": change["old"], "new": change["new"], "note": change["note"]}
                for change in related_changes(older.related, newer.related)
            ]
            if related:
                newer.history_delta_changes = [*getattr(newer, "history_delta_changes", []), *related]

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """Show an old version to restore; restoring it saves that version, related objects included.

        The restore is one transaction: the fields (through the usual form, with its workflow
        rules and optimistic locking), then the themes, regions and tags the form shows (the
        old version's), then the old authors, references and figures; the new history row
        records the result.
        """
        record = get_object_or_404(Publication.history.model, id=object_id, history_id=version_id)
        request.restoring = record
        extra_context = {**(extra_context or {}), "restoring_related": record.related}
        if request.method != "POST":
            return super().history_form_view(request, object_id, version_id, extra_context)
        # Restoring saves: only for those who may change the publication as it is now.
        current = self.get_object(request, object_id)
        if current is None or not self.has_change_permission(request, current):
            raise PermissionDenied
        with transaction.atomic():
            response = super().history_form_view(request, object_id, version_id, extra_context)
            restored = getattr(request, "restored", None)
            if restored is not None and record.related is not None:
                for problem in publication_restore_related(publication=restored, snapshot=record.related):
                    self.message_user(request, problem, messages.WARNING)
                history_capture_related(publication=restored)
        return response

    # Columns ------------------------------------------------------------------

    @admin.display(description="")
    def thumbnail(self, obj: Publication):
        image = obj.pdf_thumbnail or obj.cover_image
        if not image:
            return "—"
        return format_html('<img src="{}" alt="" width="40" class="publication-thumb">', image.url)

    @admin.display(description="status", ordering="status")
    def status_label(self, obj: Publication) -> str:
        if obj.is_scheduled:
            return f"Scheduled for {timezone.localtime(obj.published_at):%Y-%m-%d %H:%M}"
        return obj.get_status_display()

    @admin.display(description="authors")
    def byline(self, obj: Publication) -> str:
        return ", ".join(str(authorship.author) for authorship in obj.authorships.all()[:3])

    @admin.display(description="PDF thumbnail")
    def pdf_thumbnail_preview(self, obj: Publication):
        if not obj.pdf_thumbnail:
            return "Made automatically from the first page of the PDF." if obj.pdf else "—"
        return format_html('<img src="{}" alt="First page" width="160">', obj.pdf_thumbnail.url)

    @admin.display(description="review notes")
    def workflow_notes(self, obj: Publication) -> str:
        if obj.pk is None:
            return "—"
        record = (
            obj.history.filter(history_change_reason__startswith="Sent back:")
            .select_related("history_user")
            .order_by("-history_date")
            .first()
        )
        if record is None:
            return "—"
        who = record.history_user or "unknown"
        return f"{record.history_change_reason} ({who}, {record.history_date:%Y-%m-%d})"

    # Bulk actions ----------------------------------------------------------------

    def _run(self, request, queryset, service, done: str, **kwargs) -> None:
        succeeded, refused = 0, []
        for publication in queryset:
            try:
                service(publication=publication, user=request.user, **kwargs)
            except (PermissionDenied, ValidationError) as error:
                message = error.messages[0] if isinstance(error, ValidationError) else str(error)
                refused.append(f"{publication}: {message}")
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, f"{succeeded} publication(s) {done}.", messages.SUCCESS)
        for line in refused[:10]:
            self.message_user(request, line, messages.WARNING)
        if len(refused) > 10:
            self.message_user(request, f"… and {len(refused) - 10} more not changed.", messages.WARNING)

    @admin.action(
        description="Publish selected publications (scheduled if dated in the future)",
        permissions=["publish"],
    )
    def publish(self, request, queryset):
        self._run(request, queryset, publication_publish, "published")

    @admin.action(description="Unpublish selected publications (back to draft)", permissions=["publish"])
    def unpublish(self, request, queryset):
        self._run(request, queryset, publication_unpublish, "moved back to draft")

    @admin.action(description="Send selected drafts to review", permissions=["change"])
    def submit_for_review(self, request, queryset):
        self._run(request, queryset, publication_submit_for_review, "sent to review")

    @admin.action(description="Add a tag to selected publications", permissions=["change"])
    def add_tags(self, request, queryset):
        if "apply" in request.POST:
            form = AddTagsForm(request.POST)
            if form.is_valid():
                self._run(request, queryset, publication_add_tags, "tagged", tags=form.cleaned_data["tags"])
                return HttpResponseRedirect(request.get_full_path())
        else:
            form = AddTagsForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Add tags",
            "opts": self.model._meta,
            "form": form,
            "queryset": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/publications/publication/add_tags.html", context)


@admin.register(Figure)
class FigureAdmin(admin.ModelAdmin):
    """All figures, to find one; they are added and changed in their publication's form, where
    the publication's own permissions (a Contributor's own drafts) apply."""

    list_display = ["__str__", "publication", "preview"]
    list_select_related = ["publication"]
    search_fields = ["alt_text", "caption", "publication__title"]
    fields = ["publication", "position", "image", "width", "height", "alt_text", "caption", "preview"]
    readonly_fields = fields

    @admin.display(description="in the body")
    def preview(self, obj: Figure):
        return figure_preview(obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Reaction)
class ReactionAdmin(admin.ModelAdmin):
    list_display = ["publication", "value", "created_at"]
    list_filter = ["value"]
    raw_id_fields = ["publication"]


@admin.register(SearchDocument)
class SearchDocumentAdmin(admin.ModelAdmin):
    """The search index entries (PostgreSQL), to look at: ``rebuild_search_index`` writes them."""

    list_display = ["publication"]
    search_fields = ["publication__title"]
    list_select_related = ["publication"]
    fields = ["publication", "text"]
    readonly_fields = ["publication", "text"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
