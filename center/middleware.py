"""Site-wide middleware: request ids and the security headers Django does not set."""

from __future__ import annotations

import re
import uuid

from center.log_format import request_id_var

# An id from the proxy is kept only if it is short and plain (it ends up in logs and pages).
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Give every request an id (the proxy's ``X-Request-ID`` if sane, else a new one).

    The id is on ``request.request_id``, in every log record of the request
    (``center.log_format.RequestIdFilter``), in the ``X-Request-ID`` response
    header and on the error pages, so a visitor's report leads to the log lines.
    Placed first so that even cached pages and errors get one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class SecurityHeadersMiddleware:
    """``Permissions-Policy``: the site uses no powerful browser feature, so all are off.

    (HSTS, nosniff, Referrer-Policy and COOP come from Django's SecurityMiddleware,
    frame protection from XFrameOptionsMiddleware, the CSP from django-csp.)
    """

    PERMISSIONS_POLICY = ", ".join(
        f"{feature}=()"
        for feature in (
            "accelerometer",
            "browsing-topics",
            "camera",
            "display-capture",
            "geolocation",
            "gyroscope",
            "magnetometer",
            "microphone",
            "payment",
            "usb",
        )
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.PERMISSIONS_POLICY)
        return response
