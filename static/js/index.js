// The publication index's filter form (loaded with htmx on index pages only).
(function () {
  "use strict";

  // Filter form: leave empty fields out of the URL, so shared links stay short.
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt.hasAttribute || !event.detail.elt.hasAttribute("data-clean-query")) return;
    var parameters = event.detail.parameters;
    var names = parameters instanceof FormData ? Array.from(new Set(parameters.keys())) : Object.keys(parameters);
    names.forEach(function (name) {
      var values = parameters instanceof FormData ? parameters.getAll(name) : [].concat(parameters[name]);
      var kept = values.filter(function (value) { return value !== ""; });
      if (kept.length === values.length) return;
      if (parameters instanceof FormData) {
        parameters.delete(name);
        kept.forEach(function (value) { parameters.append(name, value); });
      } else if (kept.length) {
        parameters[name] = kept.length === 1 ? kept[0] : kept;
      } else {
        delete parameters[name];
      }
    });
  });

  // Without htmx (or before it loads) a plain GET submit also drops empty fields.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-clean-query") || window.htmx) return;
    Array.prototype.forEach.call(form.elements, function (element) {
      if (element.name && element.value === "" && element.tagName !== "BUTTON") element.disabled = true;
    });
  });

  // Filters: folded away on narrow screens (the results come first), open on wide ones.
  // The panel is re-rendered by each htmx swap, so the visitor's choice is remembered here.
  var narrow = window.matchMedia("(max-width: 52rem)");
  var filtersOpen = null;
  function setUpFilters(root) {
    var details = root.querySelector("[data-filters]");
    if (!details) return;
    details.open = narrow.matches ? filtersOpen === true : true;
    details.addEventListener("toggle", function () { if (narrow.matches) filtersOpen = details.open; });
    var summary = details.querySelector("summary");
    if (summary) {
      summary.addEventListener("click", function (event) { if (!narrow.matches) event.preventDefault(); });
    }
  }

  document.addEventListener("htmx:afterSwap", function (event) { setUpFilters(event.detail.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUpFilters(document); });
  } else {
    setUpFilters(document);
  }
})();
