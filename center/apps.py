from django.apps import AppConfig


class CenterConfig(AppConfig):
    name = "center"
    verbose_name = "Site"

    def ready(self):
        from center import caching

        caching.connect_signals()
