// The matrix as a workspace (issue 9): the side panel beside the page (its width: panel-width.js); the matrix by
// keyboard (one cell in the tab order, arrow keys between cells); the panel by keyboard (focus moves into
// it, Escape closes it and goes back to the cell, j/k to the next or previous pending step); the ? help.
(function () {
  "use strict";

  var CELL = "table.matrix td > button[id^='cell-']"; // a matrix cell's button (steps/views/matrix.py)
  var ROW = "li[id^='step-'], li[id^='status-row-']"; // a step in the customer checklist or the cross-customer view
  // What fills the panel with a step when clicked: a cell, or a step row's View Content.
  var OPENER = CELL + ", li[id^='step-'] .step-actions a[hx-get], li[id^='status-row-'] .step-actions a[hx-get]";

  var shownStep = null; // the step the panel shows, to tell a step opened from the same step refreshed
  var userOpened = false; // a click on a cell or a step's link is about to fill the panel
  var opener = null; // what opened the panel, for focus to go back to when the page shows no cell for its step
  var lastFocus = null; // the last focused element, to put focus back when a swap takes it away
  var lastFocusInPanel = false;
  var marked = null; // the cell or row highlighted as the panel's step

  function panel() { return document.getElementById("side-panel"); }
  function panelOpen() { var p = panel(); return !!p && !p.hidden; }
  function panelStep() {
    var section = panelOpen() && panel().querySelector("#step-panel");
    return section ? section.dataset.step : null;
  }
  function dialogOpen() { return !!document.querySelector("dialog[open]"); }
  function typing(element) {
    return !!element && (element.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName));
  }

  // ---- The page's steps: matrix cells, or rows of a checklist ----

  // The element that shows step `pk` on this page: its matrix cell or its row.
  function stepItem(pk) {
    if (!pk) return null;
    return document.getElementById("cell-" + pk) || document.querySelector("li#step-" + pk + ", li#status-row-" + pk);
  }
  // What takes focus for a step: the cell itself, or the first link of its row (View Content).
  function focusable(item) {
    if (!item || item.matches(CELL)) return item;
    return item.querySelector(".step-actions a, .step-actions button");
  }
  function isOutstanding(item) {
    var status = item.matches(CELL) ? item : item.querySelector(".status");
    return !!status && (status.classList.contains("status-pending") || status.classList.contains("status-reverted"));
  }
  function cellAt(row, index) {
    var cell = row && row.cells[index];
    return cell ? cell.querySelector(":scope > button[id^='cell-']") : null;
  }
  // The cells of one customer (a column of a cluster's table), top to bottom.
  function columnCells(button) {
    var index = button.parentElement.cellIndex;
    return Array.prototype.map.call(button.closest("tbody").rows, function (row) { return cellAt(row, index); })
      .filter(Boolean);
  }
  // The cells of one step (a row, and the same template step's rows in the other clusters' tables), left to right.
  function rowCells(button) {
    var row = button.closest("tr");
    var link = row.querySelector("th a[href]");
    var rows = [row];
    if (link) {
      rows = Array.prototype.map.call(
        document.querySelectorAll("table.matrix tbody th a[href='" + CSS.escape(link.getAttribute("href")) + "']"),
        function (a) { return a.closest("tr"); });
    }
    var cells = [];
    rows.forEach(function (r) { cells.push.apply(cells, r.querySelectorAll(CELL)); });
    return cells;
  }
  // Where a move starts: the panel's step, else the focused cell or step row.
  function currentItem() {
    var item = stepItem(panelStep());
    if (item) return item;
    var focused = document.activeElement;
    if (!focused || !focused.closest) return null;
    return focused.matches(CELL) ? focused : focused.closest(ROW);
  }
  // The step a move goes to: `direction` is next or previous (down the list: a customer's column in the matrix,
  // the checklist, the cross-customer list) or next-customer or previous-customer (along a matrix step's row).
  // undefined when the page has no such order, null when no pending or reverted step is left that way.
  function moveTarget(direction) {
    var across = direction.indexOf("customer") !== -1;
    var back = direction.indexOf("previous") === 0;
    var base = currentItem();
    var anchor = base && base.matches(CELL) ? base : document.querySelector(CELL);
    var items;
    if (anchor) items = across ? rowCells(anchor) : columnCells(anchor);
    else if (across) return undefined;
    else items = Array.prototype.slice.call(document.querySelectorAll(ROW));
    if (!items.length) return undefined;
    var index = base ? items.indexOf(base) : -1;
    var stepBy = back ? -1 : 1;
    for (var i = index === -1 ? (back ? items.length - 1 : 0) : index + stepBy; i >= 0 && i < items.length; i += stepBy) {
      if (isOutstanding(items[i])) return items[i];
    }
    return null;
  }
  // A cell's step URL: its table's form asks for step 0, the cell's button names its step (steps/views/matrix.py).
  function cellUrl(button) {
    return button.form.getAttribute("hx-get").replace("/0/", "/" + button.value + "/");
  }
  // Open a step of the page in the panel, as a click on it would (but past any selection mode a click may be in).
  function openItem(item) {
    var url = item.matches(CELL) ? cellUrl(item) : (focusable(item) || item).getAttribute("href");
    if (!url) return;
    userOpened = true;
    opener = item;
    htmx.ajax("GET", url, { target: "#side-panel", swap: "innerHTML", source: item });
  }
  function move(direction) {
    var target = moveTarget(direction);
    if (target) openItem(target);
  }

  // ---- Scrolling a step into view ----

  // Scroll an element into view, clear of the matrix's sticky header row and step column and of the top bar.
  function reveal(element) {
    if (!element) return;
    var scroller = element.closest(".matrix-scroll");
    if (scroller) {
      var head = scroller.querySelector("thead");
      var names = scroller.querySelector("thead th.step-name");
      scroller.style.scrollPaddingTop = (head ? head.offsetHeight : 0) + "px";
      scroller.style.scrollPaddingLeft = (names ? names.offsetWidth : 0) + "px";
    }
    element.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  // ---- Roving tabindex in the matrix: one cell of each cluster's table in the tab order ----

  function setRovingCell(button) {
    var table = button.closest("table.matrix");
    if (!table) return;
    var previous = table.dataset.current && document.getElementById(table.dataset.current);
    if (previous && previous !== button) previous.setAttribute("tabindex", "-1");
    button.setAttribute("tabindex", "0");
    table.dataset.current = button.id;
  }
  function initRoving() {
    document.querySelectorAll("table.matrix").forEach(function (table) {
      var cells = table.querySelectorAll(CELL);
      if (!cells.length) return;
      var current = table.dataset.current && document.getElementById(table.dataset.current);
      if (!current || !table.contains(current)) current = cells[0];
      cells.forEach(function (cell) {
        var index = cell === current ? "0" : "-1";
        if (cell.getAttribute("tabindex") !== index) cell.setAttribute("tabindex", index);
      });
      table.dataset.current = current.id;
    });
  }
  // The cell an arrow key (Home and End: the row's ends; with Ctrl, the table's) goes to from `button`, skipping the
  // hatched cells of customers without the step; null at the table's edge.
  function neighbourCell(button, key, ctrl) {
    var td = button.parentElement;
    var row = td.parentElement;
    var index = td.cellIndex;
    var found = null;
    var i;
    var r;
    if (key === "ArrowRight") {
      for (i = index + 1; i < row.cells.length && !found; i++) found = cellAt(row, i);
    } else if (key === "ArrowLeft") {
      for (i = index - 1; i > 0 && !found; i--) found = cellAt(row, i);
    } else if (key === "ArrowDown") {
      for (r = row.nextElementSibling; r && !found; r = r.nextElementSibling) found = cellAt(r, index);
    } else if (key === "ArrowUp") {
      for (r = row.previousElementSibling; r && !found; r = r.previousElementSibling) found = cellAt(r, index);
    } else if (key === "Home" || key === "End") {
      var cells = (ctrl ? row.closest("tbody") : row).querySelectorAll(CELL);
      found = cells.length ? cells[key === "Home" ? 0 : cells.length - 1] : null;
    }
    return found;
  }

  // ---- The panel: open, in sync with the page, closed ----

  // After any swap: show the panel when it has content; mark its step on the page; show the moves the page allows;
  // when a step was just opened, scroll its cell into view and move focus into the panel.
  function syncPanel(swappedIntoPanel) {
    var p = panel();
    if (!p) return;
    p.hidden = p.innerHTML.trim() === "";
    var step = panelStep();
    var opened = !!step && (step !== shownStep || (swappedIntoPanel && userOpened));
    shownStep = step;
    if (swappedIntoPanel) userOpened = false;
    markSelected(step);
    initRoving();
    var item = stepItem(step);
    if (item && item.matches(CELL)) setRovingCell(item);
    p.querySelectorAll("[data-panel-move]").forEach(function (button) {
      var target = moveTarget(button.dataset.panelMove);
      button.hidden = target === undefined;
      button.disabled = !target;
    });
    if (opened) {
      p.scrollTop = 0;
      reveal(item);
      focusPanel();
    } else if (step && focusLost()) {
      focusPanel();
    }
  }
  // The panel's step is highlighted (.selected) on the page: its cell or row, found again after a swap replaced it.
  function markSelected(step) {
    var item = stepItem(step);
    var mark = item ? (item.matches(CELL) ? item.parentElement : item) : null;
    if (marked && marked !== mark) marked.classList.remove("selected");
    if (mark) mark.classList.add("selected");
    marked = mark;
  }
  // Focus went with an element a swap removed from the panel (an action's button): it comes back to the panel.
  function focusLost() {
    var active = document.activeElement;
    return (!active || active === document.body) && lastFocusInPanel && !!lastFocus && !lastFocus.isConnected;
  }
  // Focus into the panel: the field to fill when a form of it is open (?open=skip), else the step's heading.
  function focusPanel() {
    var field = panel().querySelector("details[open] textarea, details[open] input:not([type=hidden])");
    if (field) field.focus({ preventScroll: true });
    else focusHeading();
  }
  function focusHeading() {
    var heading = panel().querySelector("#step-panel-title");
    if (heading) heading.focus({ preventScroll: true });
  }
  function closePanel() {
    var p = panel();
    var item = stepItem(panelStep());
    p.hidden = true;
    p.innerHTML = "";
    shownStep = null;
    markSelected(null);
    var target = focusable(item) || (opener && opener.isConnected ? opener : null);
    if (target) {
      if (target.matches(CELL)) setRovingCell(target);
      target.focus({ preventScroll: true });
      reveal(target);
    }
  }

  // ---- The ? help ----

  function showHelp() {
    var help = document.getElementById("keyboard-help");
    var dialog = document.getElementById("dialog");
    if (!help || !dialog || dialog.open) return;
    dialog.replaceChildren(help.content.cloneNode(true));
    dialog.showModal();
  }

  // ---- Events ----

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-panel]")) closePanel();
    var moveButton = event.target.closest("[data-panel-move]");
    if (moveButton) move(moveButton.dataset.panelMove);
    if (event.target.closest("[data-keyboard-help]")) showHelp();
    // A cell or a step's link that fills the panel: the panel takes focus once it shows the step.
    var opening = event.target.closest(OPENER);
    if (opening) {
      userOpened = true;
      opener = opening;
    }
  });

  document.addEventListener("focusin", function (event) {
    lastFocus = event.target;
    lastFocusInPanel = !!panel() && panel().contains(event.target);
    if (event.target.matches && event.target.matches(CELL)) setRovingCell(event.target);
  });

  // Opening one of the panel's forms (Skip, also by its access key; Override; Edit) puts the cursor in its field.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.open && details.matches && details.matches("#side-panel details")) {
      var field = details.querySelector("textarea, input:not([type=hidden])");
      if (field) field.focus();
    }
  }, true);

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Escape") {
      if (dialogOpen() || !panelOpen() || event.defaultPrevented) return; // an open dialog closes itself
      event.preventDefault();
      if (typing(target) && panel().contains(target)) focusHeading(); // first out of the field, then closed
      else closePanel();
      return;
    }
    var arrow = /^(Arrow(Up|Down|Left|Right)|Home|End)$/.test(event.key);
    if (arrow && target.matches && target.matches(CELL) && !event.altKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      var next = neighbourCell(target, event.key, event.ctrlKey);
      if (next) {
        setRovingCell(next);
        next.focus({ preventScroll: true });
        reveal(next);
      }
      return;
    }
    if (typing(target) || event.ctrlKey || event.metaKey || event.altKey || dialogOpen()) return;
    if (!document.getElementById("keyboard-help")) return; // only pages that list their keys take them
    var moves = { j: "next", k: "previous", J: "next-customer", K: "previous-customer" };
    if (event.key in moves) {
      event.preventDefault();
      move(moves[event.key]);
    } else if (event.key === "?") {
      event.preventDefault();
      showHelp();
    }
  });

  // A click on a cell submits its table's form: htmx asks for the cell's step rather than step 0.
  document.addEventListener("htmx:configRequest", function (event) {
    var submitter = event.detail.triggeringEvent && event.detail.triggeringEvent.submitter;
    if (!submitter || !submitter.matches || !submitter.matches(CELL)) return;
    event.detail.path = cellUrl(submitter);
    delete event.detail.parameters.step;
  });

  // One answer settles its target and each out-of-band fragment (a live update may bring dozens): the panel and the
  // page are brought in sync once, when they all have.
  var syncQueued = false;
  var syncIntoPanel = false;
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    syncIntoPanel = syncIntoPanel || (!!target && target.id === "side-panel");
    if (syncQueued) return;
    syncQueued = true;
    queueMicrotask(function () {
      var intoPanel = syncIntoPanel;
      syncQueued = syncIntoPanel = false;
      syncPanel(intoPanel);
    });
  });

  // The panel took or gave back width (panel-width.js): its step's cell may have left the view.
  document.addEventListener("rollcall:panel-resized", function () { reveal(stepItem(panelStep())); });

  document.addEventListener("DOMContentLoaded", initRoving);
})();
