// Bulk actions: select customers' steps and Mark as Done, Skip with one reason or Revert all of them (issue 9).
//
// The selection is kept here as step id → the version the page showed when it was selected, so that a step someone
// else changes afterwards (a live update redraws it) is still sent with that version and reported as changed, not
// overwritten. In the cross-customer view, each row's checkbox belongs to the bulk form (it posts without
// JavaScript too); a cluster's "Select all" and Shift+click ranges are added here. In the matrix, the Select button
// turns on a mode in which a click on a cell selects it instead of opening the side panel, Shift+click selects a
// range within the row, and a checkbox in each row's name selects that row for the cluster; the selection is sent
// in the bar's hidden "steps" field.
(function () {
  "use strict";

  var selected = new Map(); // step id → version
  var selecting = false; // the matrix's Select mode
  var lastPicked = null; // the checkbox or cell a Shift+click range starts from

  function bar() { return document.getElementById("bulk-bar"); }
  function inMatrix() { var b = bar(); return !!(b && b.hasAttribute("data-bulk-matrix")); }
  function cellPk(cell) { return cell.id.slice("cell-".length); }
  function checkboxPk(box) { return box.value.split(":")[0]; }

  // --- what the page shows of the selection --------------------------------------------------------------------

  function refresh() {
    var count = selected.size;
    document.querySelectorAll("#bulk-bar [data-needs-js][hidden]").forEach(function (el) { el.hidden = false; });
    document.querySelectorAll("[data-bulk-count]").forEach(function (el) { el.textContent = String(count); });
    var form = document.getElementById("bulk-form");
    if (form) {
      form.querySelectorAll("button[name=action]").forEach(function (button) { button.disabled = count === 0; });
    }
    document.querySelectorAll("[data-bulk-all]").forEach(function (all) {
      var boxes = clusterBoxes(all.dataset.bulkAll);
      var picked = boxes.filter(function (box) { return box.checked; }).length;
      all.checked = boxes.length > 0 && picked === boxes.length;
      all.indeterminate = picked > 0 && picked < boxes.length;
    });
    document.querySelectorAll("input.bulk-row").forEach(function (box) {
      var cells = rowCells(box.closest("tr"));
      var picked = cells.filter(function (cell) { return selected.has(cellPk(cell)); }).length;
      box.checked = cells.length > 0 && picked === cells.length;
      box.indeterminate = picked > 0 && picked < cells.length;
    });
    var b = bar();
    if (b && inMatrix()) b.hidden = !selecting;
  }

  // After any swap (a live update, the answer to an action, a filter): what is still on the page is shown selected,
  // with the version it was selected with; what left the page leaves the selection.
  function resync() {
    if (inMatrix()) {
      // Only the selected cells need looking up: a cell drawn again comes without the mark.
      Array.from(selected.keys()).forEach(function (pk) {
        var cell = document.getElementById("cell-" + pk);
        if (cell) markCell(cell, true); else selected.delete(pk);
      });
      if (selecting) addRowBoxes();
    } else {
      var present = new Set();
      document.querySelectorAll("input.bulk-select").forEach(function (box) {
        var pk = checkboxPk(box);
        present.add(pk);
        box.checked = selected.has(pk);
        if (box.checked) box.value = pk + ":" + selected.get(pk);
      });
      Array.from(selected.keys()).forEach(function (pk) { if (!present.has(pk)) selected.delete(pk); });
    }
    refresh();
  }

  function clearSelection() {
    selected.clear();
    lastPicked = null;
    document.querySelectorAll("input.bulk-select").forEach(function (box) { box.checked = false; });
    document.querySelectorAll("table.matrix .bulk-selected").forEach(function (cell) { markCell(cell, false); });
    refresh();
  }

  // --- the cross-customer view: checkboxes ---------------------------------------------------------------------

  function clusterBoxes(cluster) {
    return Array.from(document.querySelectorAll("input.bulk-select[data-bulk-cluster='" + cluster + "']"));
  }

  function pickBox(box, on) {
    box.checked = on;
    var pk = checkboxPk(box);
    if (on) { if (!selected.has(pk)) selected.set(pk, box.value.split(":")[1]); } else { selected.delete(pk); }
  }

  document.addEventListener("click", function (event) {
    var box = event.target.closest("input.bulk-select");
    if (!box) return;
    if (event.shiftKey && lastPicked && lastPicked !== box && document.body.contains(lastPicked)) {
      var boxes = Array.from(document.querySelectorAll("input.bulk-select"));
      var from = boxes.indexOf(lastPicked), to = boxes.indexOf(box);
      boxes.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (each) { pickBox(each, box.checked); });
    } else {
      pickBox(box, box.checked);
    }
    lastPicked = box;
    refresh();
  });

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-bulk-all]");
    if (all) {
      clusterBoxes(all.dataset.bulkAll).forEach(function (box) { pickBox(box, all.checked); });
      refresh();
    }
    var row = event.target.closest("input.bulk-row");
    if (row) {
      rowCells(row.closest("tr")).forEach(function (cell) { pickCell(cell, row.checked); });
      refresh();
    }
  });

  // --- the matrix: Select mode ---------------------------------------------------------------------------------

  function rowCells(tr) { return tr ? Array.from(tr.querySelectorAll("td > button[id^='cell-']")) : []; }

  function markCell(cell, on) {
    cell.classList.toggle("bulk-selected", on);
    if (on) cell.setAttribute("aria-pressed", "true"); else cell.removeAttribute("aria-pressed");
  }

  function pickCell(cell, on) {
    var pk = cellPk(cell);
    if (on) { if (!selected.has(pk)) selected.set(pk, cell.dataset.version); } else { selected.delete(pk); }
    markCell(cell, on);
  }

  function toggleCell(cell, shift) {
    var on = !selected.has(cellPk(cell));
    var tr = cell.closest("tr");
    if (shift && lastPicked && lastPicked !== cell && lastPicked.closest("tr") === tr) {
      on = selected.has(cellPk(lastPicked));
      var cells = rowCells(tr);
      var from = cells.indexOf(lastPicked), to = cells.indexOf(cell);
      cells.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (each) { pickCell(each, on); });
    } else {
      pickCell(cell, on);
    }
    lastPicked = cell;
    refresh();
  }

  // Each row's name gets a checkbox that selects the row for the cluster of its table.
  function addRowBoxes() {
    document.querySelectorAll("table.matrix tbody th.step-name").forEach(function (th) {
      if (th.querySelector("input.bulk-row") || !rowCells(th.closest("tr")).length) return;
      var cluster = th.closest("details");
      var summary = cluster && cluster.querySelector("summary span");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.className = "bulk-row";
      var name = th.textContent.replace(/\s+/g, " ").replace(/^\s*(\d+\.|↳)\s*/, "").replace(/ (❎ CUSTOM|DETACHED)$/, "").trim();
      box.setAttribute("aria-label", "Select " + name +
        " for every customer" + (summary ? " of " + summary.textContent.replace("📁", "").trim() : ""));
      th.insertBefore(box, th.firstChild);
    });
  }

  function setSelecting(on) {
    selecting = on;
    document.body.classList.toggle("bulk-selecting", on);
    var toggle = document.getElementById("bulk-toggle");
    if (toggle) {
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      toggle.textContent = on ? "✓ Done selecting" : "☑ Select";
    }
    if (on) {
      addRowBoxes();
    } else {
      document.querySelectorAll("input.bulk-row").forEach(function (box) { box.remove(); });
      clearSelection();
    }
    refresh();
  }

  // In Select mode a cell is picked instead of opened: this listener runs before the matrix form's (capture phase)
  // and stops the click there, so neither the form's submit nor htmx's request for the side panel happens.
  function selectableCell(target) {
    return selecting ? target.closest("table.matrix td > button[id^='cell-']") : null;
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-bulk-toggle]")) { setSelecting(!selecting); return; }
    if (event.target.closest("[data-bulk-clear]")) { clearSelection(); return; }
    var dismiss = event.target.closest("[data-bulk-dismiss]");
    if (dismiss) { dismiss.closest(".bulk-result").remove(); return; }
    var cell = selectableCell(event.target);
    if (!cell) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    toggleCell(cell, event.shiftKey);
  }, true);

  document.addEventListener("keydown", function (event) {
    var cell = selectableCell(event.target);
    if (cell && event.key === "Enter") {
      event.preventDefault();
      event.stopImmediatePropagation();
      toggleCell(cell, event.shiftKey);
    }
    var typing = event.target.matches && event.target.matches("input, textarea, select");
    if (selecting && event.key === "Escape" && !typing && !document.querySelector("#side-panel:not([hidden])")) {
      setSelecting(false);
    }
  }, true);

  // --- sending -------------------------------------------------------------------------------------------------

  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.closest || !elt.closest("#bulk-form")) return;
    event.detail.parameters.next = window.location.pathname + window.location.search;
    // One field for the whole selection, on both pages: a checkbox per step would be one form field each, and
    // Django refuses a request of more than DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) fields.
    event.detail.parameters.steps = Array.from(selected, function (entry) { return entry[0] + ":" + entry[1]; }).join(" ");
  });

  // A bulk action that was carried out (200) empties the selection: its steps come back redrawn as they are now.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (elt && elt.closest && elt.closest("#bulk-form") && event.detail.xhr.status === 200) {
      selected.clear();
      lastPicked = null;
    }
  });

  document.addEventListener("htmx:afterSettle", resync);

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("label.bulk-all[hidden]").forEach(function (label) { label.hidden = false; });
    // Checkboxes a browser kept checked across a reload are part of the selection.
    document.querySelectorAll("input.bulk-select:checked").forEach(function (box) { pickBox(box, true); });
    refresh();
  });
})();
