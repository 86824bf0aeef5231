// The customer picker of Activate and Add customers (templates/releases/_customer_picker.html): Select All / None
// per cluster, the search box, and the live count of the customer steps the selection creates. A change tells the
// form around it (picker:change) whether every customer is checked: Activate says what that means.
(function () {
  "use strict";
  var PICKER = "#customer-picker";

  function boxes(root) { return Array.prototype.slice.call(root.querySelectorAll("input[name=customers]")); }
  function count(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function update(picker, announce) {
    var all = boxes(picker);
    var checked = all.filter(function (box) { return box.checked; }).length;
    picker.querySelector("[data-picker-count]").textContent = picker.dataset.verb + " " +
      count(checked * Number(picker.dataset.stepCount), "customer step") + " for " + count(checked, "customer");
    if (announce) {
      picker.dispatchEvent(new CustomEvent("picker:change", { bubbles: true, detail: { everyone: checked === all.length } }));
    }
  }

  document.addEventListener("change", function (event) {
    var picker = event.target.closest(PICKER);
    if (picker) update(picker, true);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest(PICKER + " [data-picker-select]");
    if (!button) return;
    boxes(button.closest("[data-picker-cluster]")).forEach(function (box) {
      if (!box.closest("[hidden]")) box.checked = button.dataset.pickerSelect === "all";
    });
    update(button.closest(PICKER), true);
  });

  document.addEventListener("input", function (event) {
    var search = event.target.closest(PICKER + " [data-picker-search]");
    if (!search) return;
    var term = search.value.trim().toLowerCase();
    search.closest(PICKER).querySelectorAll("[data-picker-cluster]").forEach(function (group) {
      var visible = 0;
      group.querySelectorAll("[data-picker-row]").forEach(function (row) {
        row.hidden = term !== "" && row.dataset.pickerRow.indexOf(term) === -1;
        if (!row.hidden) visible += 1;
      });
      group.hidden = visible === 0;
    });
  });

  // Activate: the warning that fits the selection, everyone (later customers join too) or only the checked ones.
  document.addEventListener("picker:change", function (event) {
    var form = event.target.closest("form");
    var everyone = form && form.querySelector("[data-everyone]");
    if (!everyone) return;
    everyone.hidden = !event.detail.everyone;
    form.querySelector("[data-selection]").hidden = event.detail.everyone;
  });

  // A picker arriving in the page (the dialog's swap, or the page itself) counts its checked customers at once.
  function init(root) {
    var picker = root.matches && root.matches(PICKER) ? root : root.querySelector && root.querySelector(PICKER);
    if (picker) update(picker, false);
  }
  if (window.htmx) window.htmx.onLoad(init);
})();
