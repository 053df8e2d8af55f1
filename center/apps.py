from django.apps import AppConfig


class CenterConfig(AppConfig):
    name = "center"
    verbose_name = "Site"

    def ready(self):
        from django.core.signals import request_finished
        from django.test.signals import setting_changed

        from center import caching, memory
        from center.templatetags import fragments

        caching.connect_signals()
        memory.limit_malloc_arenas()
        request_finished.connect(memory.request_finished, dispatch_uid="center.memory")
        setting_changed.connect(fragments.forget_fixed_fragments, dispatch_uid="center.fixed_fragments")
