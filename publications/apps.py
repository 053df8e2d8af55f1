from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PublicationsConfig(AppConfig):
    name = "publications"

    def ready(self):
        from publications import history, signals
        from publications.roles import sync_roles_after_migrate

        # After auth's own handler has created the permissions of every app.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="publications.roles.sync")
        # Keep the search index current.
        signals.connect()
        # Related objects in the revision history.
        history.connect()
