/*
 * A small formatting toolbar for the publication body (a textarea holding HTML).
 * No framework, no CDN, no inline code: loaded as a static file by the admin form
 * (CSP: script-src 'self'). The server sanitizes whatever is submitted anyway.
 */
(function () {
  "use strict";

  var BUTTONS = [
    { label: "H2", title: "Section heading", before: "<h2>", after: "</h2>", block: true },
    { label: "H3", title: "Subheading", before: "<h3>", after: "</h3>", block: true },
    { label: "H4", title: "Minor heading", before: "<h4>", after: "</h4>", block: true },
    { label: "¶", title: "Paragraph", before: "<p>", after: "</p>", block: true },
    { label: "B", title: "Strong", before: "<strong>", after: "</strong>" },
    { label: "I", title: "Emphasis", before: "<em>", after: "</em>" },
    { label: "• List", title: "Bulleted list", list: "ul" },
    { label: "1. List", title: "Numbered list", list: "ol" },
    { label: "Link", title: "Link (http, https or mailto)", link: true },
    { label: "❝ Quote", title: "Block quotation", before: "<blockquote><p>", after: "</p></blockquote>", block: true },
    {
      label: "Table", title: "Table", block: true,
      before: "<table>\n<thead><tr><th>Heading</th><th>Heading</th></tr></thead>\n<tbody><tr><td>",
      after: "</td><td></td></tr></tbody>\n</table>"
    },
    // Figures are uploaded in the "Figures" section of the form and placed by number: the
    // page shows them with their alt text, caption and size (images from elsewhere are removed).
    { label: "Figure", title: "Place an uploaded figure ([figure N])", figure: true }
  ];

  function replaceSelection(textarea, text, selectStart, selectEnd) {
    var start = textarea.selectionStart;
    var end = textarea.selectionEnd;
    textarea.setRangeText(text, start, end, "end");
    if (selectStart !== undefined) {
      textarea.setSelectionRange(start + selectStart, start + selectEnd);
    }
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    textarea.focus();
  }

  function apply(textarea, button) {
    var selected = textarea.value.slice(textarea.selectionStart, textarea.selectionEnd);
    if (button.list) {
      var items = (selected || "Item").split(/\n+/).map(function (line) {
        return "  <li>" + line.trim() + "</li>";
      });
      replaceSelection(textarea, "<" + button.list + ">\n" + items.join("\n") + "\n</" + button.list + ">\n");
      return;
    }
    if (button.link) {
      var url = window.prompt("Link address (https://…, mailto:…)", "https://");
      if (!url || !/^(https?:\/\/|mailto:)/i.test(url.trim())) {
        return;
      }
      var safe = url.trim().replace(/"/g, "%22");
      replaceSelection(textarea, '<a href="' + safe + '">' + (selected || safe) + "</a>");
      return;
    }
    if (button.figure) {
      var number = window.prompt("Number of the figure (from the Figures section below)", "1");
      if (!number || !/^\s*\d+\s*$/.test(number)) {
        return;
      }
      var before = textarea.selectionStart > 0 ? "\n" : "";
      replaceSelection(textarea, before + "<p>[figure " + number.trim() + "]</p>\n");
      return;
    }
    var prefix = button.block && textarea.selectionStart > 0 ? "\n" : "";
    var suffix = button.block ? "\n" : "";
    var text = prefix + button.before + selected + button.after + suffix;
    var innerStart = prefix.length + button.before.length;
    replaceSelection(textarea, text, innerStart, innerStart + selected.length);
  }

  function enhance(textarea) {
    if (textarea.dataset.richtextReady) {
      return;
    }
    textarea.dataset.richtextReady = "1";
    var toolbar = document.createElement("div");
    toolbar.className = "richtext-toolbar";
    toolbar.setAttribute("role", "toolbar");
    toolbar.setAttribute("aria-label", "Formatting");
    BUTTONS.forEach(function (button) {
      var element = document.createElement("button");
      element.type = "button";
      element.textContent = button.label;
      element.title = button.title;
      element.addEventListener("click", function () {
        apply(textarea, button);
      });
      toolbar.appendChild(element);
    });
    textarea.parentNode.insertBefore(toolbar, textarea);
  }

  function init() {
    document.querySelectorAll("textarea[data-richtext]").forEach(enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
