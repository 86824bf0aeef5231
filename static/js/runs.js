// Runs on the clusters: the confirmation closes once the run started, and a run's output that streams (runs/run_detail.html#live, polled by htmx) stays scrolled to its
// end while the reader is at the end; a reader who scrolled up to read keeps their place.
(function () {
  "use strict";
  var atEnd = {};

  // A run started: its confirmation dialog has done its job (the panel's Runs section shows the run).
  document.addEventListener("runs:started", function () {
    var dialog = document.getElementById("dialog");
    if (dialog && dialog.open) dialog.close();
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var output = event.detail.target && event.detail.target.querySelector && event.detail.target.querySelector(".run-output");
    if (output) atEnd[output.id] = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var outputs = event.detail.elt && event.detail.elt.querySelectorAll ? event.detail.elt.querySelectorAll(".run-output") : [];
    outputs.forEach(function (output) {
      if (atEnd[output.id] !== false) output.scrollTop = output.scrollHeight;
    });
  });
})();
