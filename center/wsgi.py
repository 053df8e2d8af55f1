"""WSGI entry point (gunicorn center.wsgi): the application, with the facet index built before
the process serves its first request."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "center.settings")

application = get_wsgi_application()

from publications import facet_index  # noqa: E402 (the apps are ready only now)

facet_index.build_at_start()
