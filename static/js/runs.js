// Runs on the clusters: a run's output that streams (runs/run_detail.html#live, polled by htmx) stays scrolled to its
// end while the reader is at the end; a reader who scrolled up to read keeps their place.
(function () {
  "use strict";
  var atEnd = {};

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
