// Small enhancements of the public site; every page works without them.
(function () {
  "use strict";
  var NOTICE_KEY = "cookie-notice-dismissed";

  // Cookie notice: shown until dismissed; the dismissal is kept in localStorage (not a cookie).
  function setUpCookieNotice() {
    var notice = document.querySelector("[data-cookie-notice]");
    if (!notice) return;
    var dismissed = false;
    try { dismissed = window.localStorage.getItem(NOTICE_KEY) === "1"; } catch (error) { /* storage blocked */ }
    if (dismissed) return;
    notice.hidden = false;
    var button = notice.querySelector("[data-cookie-dismiss]");
    if (button) {
      button.addEventListener("click", function () {
        try { window.localStorage.setItem(NOTICE_KEY, "1"); } catch (error) { /* storage blocked */ }
        notice.hidden = true;
      });
    }
  }

  // Protected emails: "name [at] example [dot] org" becomes a button that reveals a mailto link.
  function setUpEmails(root) {
    root.querySelectorAll(".protected-email[data-email-user]").forEach(function (span) {
      if (span.dataset.ready) return;
      span.dataset.ready = "1";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link-button";
      button.textContent = "Show email address";
      button.addEventListener("click", function () {
        var address = span.dataset.emailUser.split("").reverse().join("") + "@" +
          span.dataset.emailDomain.split("").reverse().join("");
        var link = document.createElement("a");
        link.href = "mailto:" + address;
        link.textContent = address;
        span.replaceWith(link);
        button.remove();
        link.focus();
      });
      span.after(" ", button);
    });
  }

  // Forms on cached pages carry an empty CSRF field: fetch a token before htmx sends them.
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt.closest ? event.detail.elt.closest("[data-csrf-form]") : null;
    if (!form) return;
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (!field || field.value) return;
    event.preventDefault();
    fetch(form.dataset.csrfUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) { field.value = data.token; })
      .catch(function () { /* the server asks to confirm instead */ })
      .finally(function () { event.detail.issueRequest(true); });
  });

  document.addEventListener("htmx:afterSwap", function (event) { setUpEmails(event.detail.target); });

  function start() {
    setUpCookieNotice();
    setUpEmails(document);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
