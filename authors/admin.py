"""Authors and organizations in the admin: found fast, created on the fly from a publication."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count
from django.utils.html import format_html

from authors.models import Author, Organization
from publications.models import Authorship
from publications.sanitize import plain_text
from publications.validators import process_cover_image


class HasOrcidFilter(admin.SimpleListFilter):
    title = "ORCID iD"
    parameter_name = "has_orcid"

    def lookups(self, request, model_admin):
        return [("yes", "With ORCID iD"), ("no", "Without ORCID iD")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(orcid="")
        if self.value() == "no":
            return queryset.filter(orcid="")
        return queryset


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "country", "author_count"]
    list_filter = ["country"]
    search_fields = ["name", "city", "country"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(author_count=Count("authors"))

    @admin.display(description="authors", ordering="author_count")
    def author_count(self, obj: Organization) -> int:
        return obj.author_count


class AuthorAdminForm(forms.ModelForm):
    class Meta:
        model = Author
        fields = "__all__"  # noqa: DJ007 - the admin narrows it to its fieldsets

    def clean_bio(self) -> str:
        # Shown escaped on the public page: keep it free of markup.
        return plain_text(self.cleaned_data.get("bio", ""))

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if isinstance(photo, UploadedFile):
            return process_cover_image(photo)
        return photo


class AuthorshipReadonlyInline(admin.TabularInline):
    """The author's publications, for orientation (edit them from the publication)."""

    model = Authorship
    fields = ["publication", "position", "is_corresponding"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = "publications"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("publication")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    form = AuthorAdminForm
    list_display = [
        "photo_thumbnail",
        "family_name",
        "given_name",
        "organization",
        "position",
        "orcid",
        "works",
    ]
    list_display_links = ["photo_thumbnail", "family_name"]
    list_select_related = ["organization"]
    list_filter = ["organization__country", HasOrcidFilter]
    search_fields = ["family_name", "given_name", "email", "orcid", "organization__name"]
    search_help_text = "Search by name, email, ORCID iD or organization."
    prepopulated_fields = {"slug": ["given_name", "family_name"]}
    autocomplete_fields = ["organization"]
    inlines = [AuthorshipReadonlyInline]
    fieldsets = [
        (None, {"fields": [("given_name", "family_name"), "slug", "email", "orcid"]}),
        ("Affiliation", {"fields": ["degree", "position", "department", "organization"]}),
        ("Profile", {"fields": ["photo", "bio"]}),
    ]

    class Media:
        css = {"all": ["css/editorial-admin.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(works=Count("authorships"))

    def get_inlines(self, request, obj):
        # The add form (also the "+" popup from a publication) stays short.
        return self.inlines if obj is not None else []

    @admin.display(description="")
    def photo_thumbnail(self, obj: Author):
        if not obj.photo:
            return "—"
        return format_html('<img src="{}" alt="" width="32" class="publication-thumb">', obj.photo.url)

    @admin.display(description="publications", ordering="works")
    def works(self, obj: Author) -> int:
        return obj.works
