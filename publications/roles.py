"""The two editorial roles and the permissions each one holds.

``Editor``: everything about content (publications, authors, tags, themes, regions),
publishing and scheduling, and the newsletter. ``Contributor``: creates publications,
edits their own drafts (the admin narrows ``change`` to those, see
:func:`publications.services.publication_can_edit`) and submits them for review; no
publishing, no subscribers. Managing users is left to superusers.

A data migration creates the groups; a ``post_migrate`` handler runs the same sync again
so that permissions added by later migrations (a new model, a newsletter permission)
reach the groups too.
"""

from __future__ import annotations

EDITOR = "Editor"
CONTRIBUTOR = "Contributor"

# Editors hold every permission of these apps.
EDITOR_APPS = ("publications", "authors", "newsletter", "taggit")

CONTRIBUTOR_PERMISSIONS = {
    "publications": [
        "add_publication",
        "change_publication",
        "view_publication",
        "view_historicalpublication",
        "add_authorship",
        "change_authorship",
        "delete_authorship",
        "view_authorship",
        "add_reference",
        "change_reference",
        "delete_reference",
        "view_reference",
        "add_figure",
        "change_figure",
        "delete_figure",
        "view_figure",
        "view_theme",
        "view_region",
    ],
    "authors": ["add_author", "change_author", "view_author", "add_organization", "view_organization"],
    "taggit": ["add_tag", "view_tag"],
}


def sync_roles(group_model, permission_model) -> None:
    """Create the Editor and Contributor groups and give them their permissions.

    Takes the models as arguments so that migrations can pass their historical ones.
    Only adds what is missing; permissions given by hand are kept.
    """
    editor, _ = group_model.objects.get_or_create(name=EDITOR)
    editor.permissions.add(*permission_model.objects.filter(content_type__app_label__in=EDITOR_APPS))
    contributor, _ = group_model.objects.get_or_create(name=CONTRIBUTOR)
    for app_label, codenames in CONTRIBUTOR_PERMISSIONS.items():
        contributor.permissions.add(
            *permission_model.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )


def sync_roles_after_migrate(sender, **kwargs) -> None:
    """``post_migrate`` handler: keep the groups' permissions complete."""
    from django.contrib.auth.models import Group, Permission

    sync_roles(Group, Permission)
