// Rollcall's own behaviour: the dialog, Copy, reordering template steps (drag and drop, Move up/down, Alt+↑/↓), and
// the page's small buttons (the narrow screen's Menu, Expand/Collapse All, an audit row's "▸ all N", Print). The side
// panel and the keyboard are workspace.js; everything else is htmx. No handler lives in a template: the
// Content-Security-Policy runs no inline code.
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

  // Move a template step one place up or down: the list's order posted as a drag and drop posts it (one reorder,
  // one history event), then focus goes back to the same button of the moved step in the list as saved.
  // A move asked for while the previous one is being saved waits for it.
  var moved = null;
  var queued = null;
  function moveTemplateStep(item, up) {
    var form = item.closest("form");
    var sibling = up ? item.previousElementSibling : item.nextElementSibling;
    if (!form || !sibling) return;
    if (form.classList.contains("htmx-request")) {
      queued = { id: item.id, up: up };
      return;
    }
    var focused = item.contains(document.activeElement) ? document.activeElement : null;
    item.parentElement.insertBefore(item, up ? sibling : sibling.nextElementSibling);
    if (focused) focused.focus(); // moving an element in the page takes focus from it
    moved = { id: item.id, move: up ? "up" : "down" };
    htmx.trigger(form, "reorder");
  }
  // Focus goes back at once (the swap took it away); the next move waits for the list to settle.
  function refocusMoved() {
    var item = moved && document.getElementById(moved.id);
    if (!item) return;
    var button = item.querySelector("[data-move='" + moved.move + "']:not([disabled])") ||
      item.querySelector("[data-move]:not([disabled])");
    if (button) button.focus();
  }
  function afterMove() {
    var item = document.getElementById(moved.id);
    moved = null;
    if (item) {
      var position = Array.prototype.indexOf.call(item.parentElement.children, item) + 1;
      var name = item.querySelector(".name");
      announce((name ? name.textContent : "Step") + " moved to position " + position + " of " +
        item.parentElement.children.length + ".");
    }
    var again = queued;
    queued = null;
    var next = again && document.getElementById(again.id);
    if (next) moveTemplateStep(next, again.up);
  }
  // A polite status line for screen readers.
  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region) {
      region = document.createElement("div");
      region.id = "announcer";
      region.className = "visually-hidden";
      region.setAttribute("role", "status");
      document.body.appendChild(region);
    }
    region.textContent = text;
  }

  // With JavaScript the page posts the order it shows: the Move button htmx saw clicked must not move it again.
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (form.matches && form.matches("form") && form.querySelector("[data-sortable]")) {
      delete event.detail.parameters.move;
    }
  });

  document.addEventListener("keydown", function (event) {
    if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    var item = event.target.closest && event.target.closest("[data-sortable] > li");
    if (!item) return;
    event.preventDefault();
    moveTemplateStep(item, event.key === "ArrowUp");
  });

  document.addEventListener("click", function (event) {
    var move = event.target.closest("[data-sortable] [data-move]");
    if (move) {
      event.preventDefault(); // without JavaScript the button posts the order and the move
      moveTemplateStep(move.closest("li"), move.dataset.move === "up");
    }
    var copy = event.target.closest("[data-copy-url]");
    if (copy) copyStepText(copy);
    var dismiss = event.target.closest("[data-dismiss-message]");
    if (dismiss) dismiss.closest(".message").remove();
    if (event.target.closest("[data-close-dialog]")) {
      document.getElementById("dialog").close();
    }
    var menu = event.target.closest("[data-nav-toggle]");
    if (menu) menu.setAttribute("aria-expanded", menu.closest(".topbar").classList.toggle("nav-open"));
    var groups = event.target.closest("[data-cluster-groups]");
    if (groups) {
      document.querySelectorAll("#matrix-body details.cluster-group").forEach(function (details) {
        details.open = groups.dataset.clusterGroups === "open";
      });
    }
    var changes = event.target.closest("[data-expand-changes]");
    if (changes) expandChanges(changes);
    if (event.target.closest("[data-print]")) window.print();
  });

  // An audit row's changes: "▸ all N" shows every one, "▾ less" the first again.
  function expandChanges(button) {
    if (!button.dataset.moreLabel) button.dataset.moreLabel = button.textContent;
    var open = button.closest("td").classList.toggle("expanded");
    button.setAttribute("aria-expanded", open);
    button.textContent = open ? "▾ less" : button.dataset.moreLabel;
  }

  // A dialog's form that succeeded closes the dialog (a refusal comes back into it, with its message). The form may
  // be gone from the page by then (its answer replaced the dialog's content): htmx then fires the event again on the
  // closest element still in the page, with the form as detail.elt.
  document.addEventListener("htmx:afterRequest", function (event) {
    var requester = event.detail.elt;
    if (event.detail.successful && requester && requester.closest && requester.closest("[data-close-dialog-on-success]")) {
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
    if (target.id === "dialog" && !target.open && target.innerHTML.trim() !== "") target.showModal();
    initSortables(document);
    if (moved) refocusMoved();
  });
  // Until it settles, htmx gives the new list the old one's classes (htmx-request).
  document.addEventListener("htmx:afterSettle", function (event) {
    if (moved && event.target.querySelector && event.target.querySelector("[data-sortable]")) afterMove();
  });

  document.addEventListener("DOMContentLoaded", function () { initSortables(document); fadeMessages(); });
})();
