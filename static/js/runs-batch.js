// Run for a cluster (templates/runs/batch_form.html, in the dialog or a page of its own): Select All / None and the
// live count of what will run. The batch's page (templates/runs/batch_detail.html): its poll (#batch-runs) is skipped
// while the tab is hidden and asked at once when it shows again. Listeners only: the Content-Security-Policy allows
// no inline script.
(function () {
  "use strict";
  // Loaded by the step's page and by the batch's pages: the listeners once.
  if (window.rollcallRunsBatch) return;
  window.rollcallRunsBatch = true;
  var FORM = "#batch-form";
  var POLLER = "[data-batch-poll]";

  function update(form) {
    var checked = form.querySelectorAll("input[name=customers]:checked").length;
    var count = form.querySelector("[data-batch-count]");
    if (count) count.textContent = checked + " customer" + (checked === 1 ? "" : "s");
    var concurrency = form.querySelector("input[name=concurrency]");
    var shown = form.querySelector("[data-batch-concurrency]");
    if (concurrency && shown) shown.textContent = concurrency.value;
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest(FORM);
    if (form) update(form);
  });
  document.addEventListener("input", function (event) {
    var form = event.target.closest(FORM);
    if (form) update(form);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest(FORM + " [data-batch-select]");
    if (!button) return;
    var form = button.closest(FORM);
    form.querySelectorAll("input[name=customers]").forEach(function (box) {
      box.checked = button.dataset.batchSelect === "all";
    });
    update(form);
  });

  // A timed poll comes without a triggering event; an hx-trigger filter would need eval, which the CSP forbids.
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    if (elt.matches && elt.matches(POLLER) && !event.detail.triggeringEvent && document.visibilityState !== "visible") {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    var poller = document.querySelector(POLLER);
    if (poller && window.htmx && document.visibilityState === "visible") window.htmx.trigger(poller, "rollcall:batch-poll");
  });
})();
