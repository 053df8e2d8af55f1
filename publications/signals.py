"""Keep the search index current: any change a publication's index entry depends on marks it.

Marked publications are reindexed once when the transaction commits
(``publications.search.mark_for_reindex``). A new or replaced PDF also gets its
text extracted by a background task once the upload is committed.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save, pre_delete

from publications import search
from publications.models import Authorship, Publication, Region, Theme

_UNKNOWN = object()


def _remember_pdf(sender, instance, **kwargs) -> None:
    """The PDF's name as loaded, to notice an upload (unknown when the field was deferred)."""
    value = instance.__dict__.get("pdf", _UNKNOWN)
    instance._loaded_pdf_name = value if value is _UNKNOWN else (getattr(value, "name", value) or "")


def _publication_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if raw:
        return
    loaded = getattr(instance, "_loaded_pdf_name", _UNKNOWN)
    if "pdf" in instance.__dict__ and loaded is not _UNKNOWN:
        pdf_name = instance.pdf.name or ""
        # A new publication arriving with its text already (imports) needs no extraction.
        if pdf_name != loaded or (created and pdf_name and not instance.pdf_text):
            _pdf_changed(instance, pdf_name)
        instance._loaded_pdf_name = pdf_name
    search.mark_for_reindex([instance.pk])


def _pdf_changed(instance: Publication, pdf_name: str) -> None:
    """A new, replaced or removed PDF: forget the old text; extract the new one after commit."""
    from publications.tasks import extract_pdf_text

    status = Publication.PdfTextStatus.PENDING if pdf_name else Publication.PdfTextStatus.NONE
    Publication.objects.filter(pk=instance.pk).update(pdf_text="", pdf_text_status=status)
    instance.pdf_text, instance.pdf_text_status = "", status
    if pdf_name:
        publication_id = instance.pk
        transaction.on_commit(lambda: extract_pdf_text.enqueue(publication_id))


def _publication_deleted(sender, instance, **kwargs) -> None:
    search.remove_publications([instance.pk])


def _subjects_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """Themes, regions or tags added or removed, from either side of the relation."""
    if action == "pre_clear" and reverse:
        # The ids are gone after the clear: note them now.
        instance._search_cleared_ids = list(instance.publications.values_list("pk", flat=True))
        return
    if not action.startswith("post_"):
        return
    if isinstance(instance, Publication):
        search.mark_for_reindex([instance.pk])
    elif action == "post_clear":
        search.mark_for_reindex(getattr(instance, "_search_cleared_ids", []))
    else:
        search.mark_for_reindex(pk_set or [])


def _authorship_changed(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        search.mark_for_reindex([instance.publication_id])


def _named_thing_changed(sender, instance, raw=False, **kwargs) -> None:
    """An author, theme, region or tag renamed (or removed): every publication naming it."""
    if raw or instance.pk is None:
        return
    if sender is Theme or sender is Region:
        ids = instance.publications.values_list("pk", flat=True)
    elif sender._meta.label == "authors.Author":
        ids = Authorship.objects.filter(author=instance).values_list("publication_id", flat=True)
    else:  # a tag
        from taggit.models import TaggedItem

        ids = TaggedItem.objects.filter(
            tag=instance, content_type__app_label="publications", content_type__model="publication"
        ).values_list("object_id", flat=True)
    search.mark_for_reindex(list(ids))


def connect() -> None:
    """Called from ``PublicationsConfig.ready()``."""
    from taggit.models import Tag, TaggedItem

    from authors.models import Author

    uid = "publications.search"
    post_init.connect(_remember_pdf, sender=Publication, dispatch_uid=f"{uid}.init")
    post_save.connect(_publication_saved, sender=Publication, dispatch_uid=f"{uid}.save")
    post_delete.connect(_publication_deleted, sender=Publication, dispatch_uid=f"{uid}.delete")
    for through in (Publication.themes.through, Publication.regions.through, TaggedItem):
        m2m_changed.connect(_subjects_changed, sender=through, dispatch_uid=f"{uid}.m2m.{through.__name__}")
    post_save.connect(_authorship_changed, sender=Authorship, dispatch_uid=f"{uid}.authorship.save")
    post_delete.connect(_authorship_changed, sender=Authorship, dispatch_uid=f"{uid}.authorship.delete")
    for model in (Author, Theme, Region, Tag):
        post_save.connect(_named_thing_changed, sender=model, dispatch_uid=f"{uid}.{model.__name__}.save")
        pre_delete.connect(_named_thing_changed, sender=model, dispatch_uid=f"{uid}.{model.__name__}.del")
