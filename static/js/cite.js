// "Cite item": pick a citation style and copy it. Without this script every style is listed.
(function () {
  "use strict";
  document.querySelectorAll("[data-cite]").forEach(function (block) {
    var controls = block.querySelector("[data-cite-controls]");
    var select = block.querySelector("[data-cite-select]");
    var copy = block.querySelector("[data-cite-copy]");
    var status = block.querySelector("[data-cite-status]");
    var formats = block.querySelectorAll("[data-cite-style]");
    if (!controls || !select) return;

    function current() {
      return block.querySelector('[data-cite-style="' + select.value + '"]');
    }
    function show() {
      formats.forEach(function (format) {
        format.hidden = format !== current();
      });
      if (status) status.textContent = "";
    }
    select.addEventListener("change", show);
    controls.hidden = false;
    show();

    if (!copy) return;
    if (!navigator.clipboard) {
      copy.hidden = true;
      return;
    }
    copy.addEventListener("click", function () {
      var text = current().querySelector(".cite-text").textContent.trim();
      navigator.clipboard.writeText(text).then(
        function () { if (status) status.textContent = "Citation copied."; },
        function () { if (status) status.textContent = "Copying failed: select the text and copy it."; }
      );
    });
  });
})();
