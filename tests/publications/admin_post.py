"""Build the POST data of an admin form the way a browser would submit it."""

from __future__ import annotations

from django import forms
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from taggit.forms import TagWidget
from taggit.utils import edit_string_for_tags


def _field_data(bound_field) -> dict:
    widget = bound_field.field.widget
    if isinstance(widget, RelatedFieldWidgetWrapper):
        widget = widget.widget
    name = bound_field.html_name
    value = bound_field.value()
    if isinstance(bound_field.field, forms.FileField):
        return {}
    if isinstance(widget, forms.SplitDateTimeWidget):
        date, time = widget.decompress(value)
        return {
            f"{name}_0": date.isoformat() if date else "",
            f"{name}_1": time.strftime("%H:%M:%S") if time else "",
        }
    if isinstance(widget, forms.CheckboxInput):
        return {name: "on"} if value else {}
    if isinstance(widget, TagWidget):
        if value and not isinstance(value, str):
            value = edit_string_for_tags([item.tag if hasattr(item, "tag") else item for item in value])
        return {name: value or ""}
    if value is None:
        return (
            {}
            if isinstance(bound_field.field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField)
            else {name: ""}
        )
    if isinstance(value, (list, tuple)):
        return {name: [str(item) for item in value]}
    return {name: str(value)}


def form_data(form) -> dict:
    data = {}
    for bound_field in form:
        data.update(_field_data(bound_field))
    return data


def changeform_data(response, **changes) -> dict:
    """All values of the rendered admin add/change form, with ``changes`` applied."""
    context = response.context
    data = form_data(context["adminform"].form)
    for inline in context.get("inline_admin_formsets", []):
        formset = inline.formset
        data.update(form_data(formset.management_form))
        for form in formset.forms:
            data.update(form_data(form))
    data.update(changes)
    return data
