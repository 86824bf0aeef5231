// Rollcall's own behaviour: side panel and dialog, Copy, drag-and-drop reorder. Everything else is htmx.
(function () {
  "use strict";

  function initSortables(root) {
    if (!window.Sortable) return;
    root.querySelectorAll("[data-sortable]").forEach(function (list) {
      if (list._sortable) return;
      list._sortable = Sortable.create(list, {
        handle: ".drag-handle",
        animation: 150,
        onEnd: function () {
          // The list's form posts the new order (hidden inputs in DOM order) without a page reload.
          var form = list.closest("form");
          if (form) htmx.trigger(form, "reorder");
        },
      });
    });
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy-url]");
    if (copy) copyStepText(copy);
    if (event.target.closest("[data-close-panel]")) {
      var panel = document.getElementById("side-panel");
      panel.hidden = true; panel.innerHTML = "";
      document.querySelectorAll(".cell.selected").forEach(function (cell) { cell.classList.remove("selected"); });
    }
    var dismiss = event.target.closest("[data-dismiss-message]");
    if (dismiss) dismiss.closest(".message").remove();
    if (event.target.closest("[data-close-dialog]")) {
      document.getElementById("dialog").close();
    }
  });

  // Copy asks the server for the step's text (rendered for its customer, sensitive values in clear, so never kept
  // in the page) and puts it on the clipboard; a refusal (an unresolved variable) is shown on the button.
  function copyStepText(button) {
    var text = fetch(button.dataset.copyUrl, { credentials: "same-origin" }).then(function (response) {
      return response.text().then(function (body) {
        if (!response.ok) throw new Error(body);
        return body;
      });
    });
    var done = function () { button.dataset.copied = "true"; button.textContent = "✅ Copied"; button.title = ""; };
    var failed = function (error) { button.textContent = "⚠️ Not copied"; button.title = error.message || String(error); };
    if (navigator.clipboard && window.isSecureContext && window.ClipboardItem) {
      // A ClipboardItem may wait for the text: the click's permission to write still holds when it arrives.
      var blob = text.then(function (body) { return new Blob([body], { type: "text/plain" }); });
      navigator.clipboard.write([new ClipboardItem({ "text/plain": blob })]).then(done, failed);
    } else {
      text.then(function (body) {
        var area = document.createElement("textarea");
        area.value = body; document.body.appendChild(area); area.select();
        document.execCommand("copy"); area.remove(); done();
      }, failed);
    }
  }

  // Successes and notices fade away after a while so they never cover the page; errors stay until dismissed.
  function fadeMessages() {
    document.querySelectorAll("#messages .message:not(.error):not([data-fading])").forEach(function (message) {
      message.dataset.fading = "true";
      setTimeout(function () { message.remove(); }, 6000);
    });
  }

  document.addEventListener("htmx:afterSettle", fadeMessages);

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target.id === "side-panel") target.hidden = target.innerHTML.trim() === "";
    if (target.id === "dialog" && !target.open && target.innerHTML.trim() !== "") target.showModal();
    initSortables(document);
  });

  document.addEventListener("DOMContentLoaded", function () { initSortables(document); fadeMessages(); });
})();
