"""Admin: subscribers (GDPR erasure), newsletters (compose, preview, test, send, progress), deliveries."""

from __future__ import annotations

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from newsletter import selectors, services
from newsletter.models import ConfirmationEmail, Delivery, Newsletter, Subscriber


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "status", "created_at", "confirmed_at", "permanent_failures"]
    list_filter = ["status", "consent_form"]
    search_fields = ["email", "name"]
    filter_horizontal = ["themes", "regions"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
        "suspended_at",
        "permanent_failures",
        "consent_at",
        "consent_form",
        "consent_text_version",
        "consent_ip",
    ]
    fieldsets = [
        (None, {"fields": ["email", "name", "status", "themes", "regions"]}),
        (
            "History",
            {
                "fields": [
                    "created_at",
                    "confirmed_at",
                    "unsubscribed_at",
                    "suspended_at",
                    "permanent_failures",
                ]
            },
        ),
        ("Consent record", {"fields": ["consent_at", "consent_form", "consent_text_version", "consent_ip"]}),
    ]
    actions = ["erase"]

    @admin.action(description="Erase selected subscribers and all their data (GDPR)", permissions=["delete"])
    def erase(self, request, queryset):
        count = 0
        for subscriber in queryset:
            services.subscriber_erase(subscriber=subscriber)
            count += 1
        self.message_user(request, f"{count} subscriber(s) erased with all their data.", messages.SUCCESS)


@admin.register(Newsletter)
class NewsletterAdmin(admin.ModelAdmin):
    list_display = ["subject", "status", "selection", "created_at", "send_started_at", "progress"]
    list_filter = ["status", "selection", "is_digest"]
    search_fields = ["subject"]
    autocomplete_fields = ["publications"]
    readonly_fields = ["status", "items_since", "send_started_at", "sent_at", "progress", "tools"]
    fields = ["subject", "intro", "selection", "publications", "tools", "status", "progress", "items_since",
              "send_started_at", "sent_at"]  # fmt: skip

    def get_queryset(self, request):
        counts = {
            f"n_{status}": Count("deliveries", filter=Q(deliveries__status=status))
            for status in Delivery.Status.values
        }
        return super().get_queryset(request).annotate(**counts)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status != Newsletter.Status.DRAFT:
            fields += ["subject", "intro", "selection", "publications"]  # what went out stays as it was
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="Progress (sent / failed / pending)")
    def progress(self, obj) -> str:
        if not hasattr(obj, "n_sent"):
            return ""
        pending = obj.n_pending + obj.n_sending
        return f"{obj.n_sent} sent, {obj.n_failed} failed, {pending} pending, {obj.n_skipped} skipped"

    @admin.display(description="Actions")
    def tools(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "Save the newsletter first, then preview, test and send it."
        return format_html(
            '<a class="button" href="{}">Preview</a> <a class="button" href="{}">Send test / send</a>',
            reverse("admin:newsletter_newsletter_preview", args=[obj.pk]),
            reverse("admin:newsletter_newsletter_send", args=[obj.pk]),
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="newsletter_newsletter_preview",
            ),
            path(
                "<int:pk>/send/",
                self.admin_site.admin_view(self.send_view),
                name="newsletter_newsletter_send",
            ),
            *super().get_urls(),
        ]

    @staticmethod
    def _preview_html(newsletter: Newsletter) -> str:
        items = selectors.newsletter_items(newsletter=newsletter)
        context = {
            "SITE_NAME": settings.SITE_NAME,
            "SITE_URL": settings.SITE_URL,
            "subject": newsletter.subject,
            "intro": newsletter.intro,
            "items": items,
            "manage_url": "#",
            "unsubscribe_url": "#",
        }
        return render_to_string("newsletter/email/newsletter.html", context)

    def preview_view(self, request, pk: int):
        """The email as subscribers who follow everything will see it (styles are inline, as in mail)."""
        newsletter = get_object_or_404(Newsletter, pk=pk)
        if not self.has_view_permission(request, newsletter):
            raise PermissionDenied
        return _preview_response(self._preview_html(newsletter))

    def send_view(self, request, pk: int):
        """Send a test to yourself, or send for real (a second click sends nobody anything twice)."""
        newsletter = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, newsletter):
            raise PermissionDenied
        items = selectors.newsletter_items(newsletter=newsletter)
        if request.method == "POST":
            if "test" in request.POST:
                if not request.user.email:
                    self.message_user(request, "Your account has no email address.", messages.ERROR)
                else:
                    services.newsletter_send_test(newsletter=newsletter, email=request.user.email)
                    self.message_user(request, f"Test sent to {request.user.email}.", messages.SUCCESS)
                return redirect("admin:newsletter_newsletter_send", pk=pk)
            if "send" in request.POST:
                try:
                    created = services.newsletter_send(newsletter=newsletter)
                except ValidationError as error:
                    self.message_user(request, " ".join(error.messages), messages.ERROR)
                    return redirect("admin:newsletter_newsletter_send", pk=pk)
                self.message_user(
                    request, f"Sending to {created} subscriber(s) has started.", messages.SUCCESS
                )
                return redirect("admin:newsletter_newsletter_change", pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": newsletter,
            "title": f"Send “{newsletter.subject}”",
            "items": items,
            "active_count": Subscriber.objects.active().count(),
            "progress": Delivery.objects.filter(newsletter=newsletter).progress(),
        }
        return TemplateResponse(request, "admin/newsletter/newsletter/send.html", context)


@csp_update({"style-src": ["'unsafe-inline'"]})
def _preview_response(html: str) -> HttpResponse:
    return HttpResponse(html)


class RecordAdmin(admin.ModelAdmin):
    """Records the sending machinery writes: staff read them, nobody edits them by hand."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(RecordAdmin):
    list_display = ["newsletter", "subscriber", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "newsletter"]
    search_fields = ["subscriber__email", "newsletter__subject"]
    list_select_related = ["newsletter", "subscriber"]


@admin.register(ConfirmationEmail)
class ConfirmationEmailAdmin(RecordAdmin):
    """Confirmation and "already subscribed" emails: whether each one went out."""

    list_display = ["subscriber", "kind", "created_at", "sent_at"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["subscriber__email"]
    list_select_related = ["subscriber"]
    date_hierarchy = "created_at"
