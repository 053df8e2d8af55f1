"""Pages of the mailing list: subscribe, confirm, manage, export, erase, unsubscribe.

The footer form on every (cached) page carries an empty CSRF field that
``static/js/newsletter.js`` fills on submit. The subscribe view checks CSRF
itself so that a post without a valid token (no JavaScript, cookies blocked,
a cross-site post) is never acted on but answered with this page's own form,
pre-filled, to submit once more.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from center import ratelimit
from newsletter import selectors, services, tokens
from newsletter.forms import PreferencesForm, SubscribeForm, form_stamp

HOUR = 3600


def _csrf_passes(request) -> bool:
    def view(request):  # a stand-in without csrf_exempt, so the middleware checks
        return None

    return CsrfViewMiddleware(view).process_view(request, view, (), {}) is None


def _render_subscribe(request, form, *, status=HTTPStatus.OK, notice=""):
    return render(
        request,
        "newsletter/subscribe.html",
        # The page's own form offers the topics: the footer's copy of them would repeat it.
        {"form": form, "stamp": form_stamp(), "notice": notice, "footer_without_topics": True},
        status=status,
    )


def _too_many(request):
    return render(request, "newsletter/rate_limited.html", status=HTTPStatus.TOO_MANY_REQUESTS)


@never_cache
@csrf_exempt  # checked by hand below: a failed check re-shows the form instead of a 403
@require_http_methods(["GET", "HEAD", "POST"])
def index(request):
    """The subscribe page (GET) and where both subscribe forms post to."""
    if request.method != "POST":
        return _render_subscribe(request, SubscribeForm())
    form = SubscribeForm(request.POST)
    if not _csrf_passes(request):
        unbound = SubscribeForm(
            initial={
                "email": request.POST.get("email", "")[:254],
                "name": request.POST.get("name", "")[:200],
                "themes": request.POST.getlist("themes")[:100],
                "regions": request.POST.getlist("regions")[:100],
            }
        )
        return _render_subscribe(
            request, unbound, notice="Please check your details and press “Subscribe” once more."
        )
    ip = ratelimit.client_ip(request)
    if not ratelimit.hit("newsletter-ip", ip, limit=settings.NEWSLETTER_RATE_PER_IP, window=HOUR):
        return _too_many(request)
    if form.is_spam:
        return redirect("newsletter:thanks")
    if not form.is_valid():
        return _render_subscribe(request, form, status=HTTPStatus.BAD_REQUEST)
    data = form.cleaned_data
    email_key = services.normalize_email(data["email"]).lower()
    if not ratelimit.hit(
        "newsletter-email", email_key, limit=settings.NEWSLETTER_RATE_PER_EMAIL, window=HOUR
    ):
        return _too_many(request)
    try:
        services.subscriber_subscribe(
            email=data["email"],
            name=data["name"],
            themes=data["themes"],
            regions=data["regions"],
            ip=ip if ip != "unknown" else None,
            form=data["form"],
        )
    except ValidationError as error:
        form.add_error("email", error)
        return _render_subscribe(request, form, status=HTTPStatus.BAD_REQUEST)
    # The same answer for a new, pending, active or former subscriber.
    return redirect("newsletter:thanks")


@require_GET
def thanks(request):
    return render(request, "newsletter/thanks.html")


@require_GET
def privacy(request):
    return render(request, "newsletter/privacy.html", {"consent_text": services.CONSENT_TEXT})


@never_cache
@require_GET
def csrf(request):
    """A CSRF token for the footer form of a cached page (sets the CSRF cookie)."""
    return JsonResponse({"token": get_token(request)})


def _bad_link(request, error: tokens.TokenError, *, token: str = ""):
    return render(
        request,
        "newsletter/bad_link.html",
        {"error": error, "token": token if error.expired else ""},
        status=HTTPStatus.BAD_REQUEST,
    )


@never_cache
@require_GET
def confirm(request, token: str):
    """The link in the confirmation email: activates the subscription (twice is harmless)."""
    try:
        subscriber = services.subscriber_confirm(token=token)
    except tokens.TokenError as error:
        return _bad_link(request, error, token=token)
    manage_token = tokens.make_token(subscriber, tokens.MANAGE)
    return render(request, "newsletter/confirmed.html", {"manage_token": manage_token})


@never_cache
@require_POST
def confirm_resend(request):
    """A new confirmation email for an expired link (the link's signature still names the subscriber)."""
    ip = ratelimit.client_ip(request)
    if not ratelimit.hit("newsletter-ip", ip, limit=settings.NEWSLETTER_RATE_PER_IP, window=HOUR):
        return _too_many(request)
    token = request.POST.get("token", "")
    try:
        payload = tokens.read_token(token, tokens.CONFIRM)
    except tokens.TokenError as error:
        if not error.expired:
            return _bad_link(request, error)
        payload = error.payload
    try:
        subscriber = services.subscriber_for_payload(payload)
    except tokens.TokenError as error:
        return _bad_link(request, error)
    services.subscriber_resend_confirmation(subscriber=subscriber)
    return redirect("newsletter:thanks")


def _subscriber_or_bad_link(request, token: str):
    try:
        return services.subscriber_from_token(token=token, purpose=tokens.MANAGE), None
    except tokens.TokenError as error:
        return None, _bad_link(request, error)


@never_cache
@csrf_exempt  # mail clients post the one-click unsubscribe (RFC 8058); the signed token protects it
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token: str):
    """GET shows a button; POST (the button, or a mail client's one click) unsubscribes at once."""
    try:
        payload = tokens.read_token(token, tokens.MANAGE)
    except tokens.TokenError as error:
        return _bad_link(request, error)
    try:
        subscriber = services.subscriber_for_payload(payload)
    except tokens.TokenError:
        subscriber = None  # authentic link, address erased since: it is off the list already
    if request.method != "POST":
        return render(request, "newsletter/unsubscribe.html", {"token": token, "subscriber": subscriber})
    if subscriber is not None:
        services.subscriber_unsubscribe(subscriber=subscriber)
    if request.POST.get("List-Unsubscribe") == "One-Click":
        return HttpResponse("Unsubscribed.\n", content_type="text/plain; charset=utf-8")
    return render(request, "newsletter/unsubscribed.html")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def manage(request, token: str):
    """A subscriber's own page: name and topics, their data, erasure, unsubscribing."""
    subscriber, bad = _subscriber_or_bad_link(request, token)
    if bad:
        return bad
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            services.subscriber_update_preferences(subscriber=subscriber, **form.cleaned_data)
            messages.success(request, "Your preferences are saved.")
            return redirect("newsletter:manage", token=token)
        status = HTTPStatus.BAD_REQUEST
    else:
        form = PreferencesForm(
            initial={
                "name": subscriber.name,
                "themes": list(subscriber.themes.all()),
                "regions": list(subscriber.regions.all()),
            }
        )
        status = HTTPStatus.OK
    return render(
        request,
        "newsletter/manage.html",
        {"form": form, "subscriber": subscriber, "token": token, "footer_without_topics": True},
        status=status,
    )


@never_cache
@require_GET
def export(request, token: str):
    """Everything we hold about the subscriber, as a JSON download."""
    subscriber, bad = _subscriber_or_bad_link(request, token)
    if bad:
        return bad
    data = selectors.subscriber_export(subscriber=subscriber)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="newsletter-data.json"'
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def erase(request, token: str):
    """GET asks to confirm; POST erases every record of the subscriber."""
    subscriber, bad = _subscriber_or_bad_link(request, token)
    if bad:
        return bad
    if request.method != "POST":
        return render(request, "newsletter/erase.html", {"token": token, "subscriber": subscriber})
    services.subscriber_erase(subscriber=subscriber)
    return render(request, "newsletter/erased.html")
