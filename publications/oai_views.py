"""``/oai/``: the OAI-PMH 2.0 endpoint (the protocol itself is in ``publications/oai.py``)."""

from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from publications import oai


@csrf_exempt  # harvesters POST form-encoded requests; nothing is changed
@require_http_methods(["GET", "HEAD", "POST"])
def oai_pmh(request):
    """Answer one OAI-PMH request, sent by GET or by a form-encoded POST."""
    arguments = request.POST if request.method == "POST" else request.GET
    pairs = [(name, value) for name, values in arguments.lists() for value in values]
    return HttpResponse(oai.handle(pairs), content_type="text/xml; charset=utf-8")
