from django.apps import AppConfig


class CenterConfig(AppConfig):
    name = "center"
    verbose_name = "Site"

    def ready(self):
        from django.core.signals import request_finished

        from center import caching, memory

        caching.connect_signals()
        memory.limit_malloc_arenas()
        request_finished.connect(memory.request_finished, dispatch_uid="center.memory")
