// The side panel's width (issue 9): a drag handle on its left edge, and arrow keys on that handle; remembered in
// localStorage, narrowed to leave the page room in a small window. Also the top bar's height, which the panel sits
// below. Both are CSS variables (--panel-width, --topbar-height) that workspace.css lays the page out with.
(function () {
  "use strict";

  var WIDTH_KEY = "rollcall.panelWidth";
  var MIN_WIDTH = 360; // the panel's narrowest
  var MIN_PAGE = 360; // what the panel leaves to the page at least
  var preferredWidth = null; // the width as last chosen; narrowed to fit a small window, not forgotten

  function clampWidth(width) {
    return Math.round(Math.max(MIN_WIDTH, Math.min(width, window.innerWidth - MIN_PAGE)));
  }
  function panelWidth() {
    return parseInt(getComputedStyle(document.documentElement).getPropertyValue("--panel-width"), 10) || 640;
  }
  // Until someone chooses a width: 640 px, or less than half of a smaller window.
  function chosenWidth() { return preferredWidth || Math.min(640, window.innerWidth * 0.45); }
  function setPanelWidth(width, remember) {
    if (remember) preferredWidth = width;
    width = clampWidth(width);
    document.documentElement.style.setProperty("--panel-width", width + "px");
    var resizer = document.querySelector(".panel-resizer");
    if (resizer) {
      resizer.setAttribute("aria-valuenow", width);
      resizer.setAttribute("aria-valuemax", Math.max(MIN_WIDTH, window.innerWidth - MIN_PAGE));
    }
    if (remember) {
      try { localStorage.setItem(WIDTH_KEY, String(width)); } catch (error) { /* private mode: not remembered */ }
    }
  }
  function initResizer() {
    var p = document.getElementById("side-panel");
    if (!p) return;
    var resizer = document.createElement("div");
    resizer.className = "panel-resizer";
    resizer.tabIndex = 0;
    resizer.setAttribute("role", "separator");
    resizer.setAttribute("aria-orientation", "vertical");
    resizer.setAttribute("aria-controls", "side-panel");
    resizer.setAttribute("aria-label", "Resize the step panel");
    resizer.setAttribute("aria-valuemin", MIN_WIDTH);
    resizer.title = "Drag, or use ← and →, to resize the panel";
    p.after(resizer);
    var saved = null;
    try { saved = parseInt(localStorage.getItem(WIDTH_KEY), 10); } catch (error) { saved = null; }
    preferredWidth = saved || null;
    setPanelWidth(chosenWidth(), false);

    resizer.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      event.preventDefault();
      resizer.setPointerCapture(event.pointerId);
      resizer.classList.add("dragging");
      document.body.classList.add("resizing-panel");
    });
    resizer.addEventListener("pointermove", function (event) {
      if (resizer.hasPointerCapture(event.pointerId)) setPanelWidth(window.innerWidth - event.clientX, false);
    });
    function endDrag(event) {
      if (!resizer.hasPointerCapture(event.pointerId)) return;
      resizer.releasePointerCapture(event.pointerId);
      resizer.classList.remove("dragging");
      document.body.classList.remove("resizing-panel");
      setPanelWidth(panelWidth(), true);
      resized();
    }
    resizer.addEventListener("pointerup", endDrag);
    resizer.addEventListener("pointercancel", endDrag);
    resizer.addEventListener("keydown", function (event) {
      var by = event.shiftKey ? 160 : 40;
      var widths = { ArrowLeft: panelWidth() + by, ArrowRight: panelWidth() - by, Home: Infinity, End: MIN_WIDTH };
      if (!(event.key in widths)) return;
      event.preventDefault();
      setPanelWidth(clampWidth(widths[event.key]), true);
      resized();
    });
  }
  function trackTopbar() {
    var topbar = document.querySelector(".topbar");
    var set = function () {
      var height = topbar ? topbar.getBoundingClientRect().height : 0;
      document.documentElement.style.setProperty("--topbar-height", height + "px");
    };
    set();
    if (topbar && window.ResizeObserver) new ResizeObserver(set).observe(topbar);
    window.addEventListener("resize", function () { setPanelWidth(chosenWidth(), false); });
  }

  // workspace.js scrolls the panel's step back into view.
  function resized() { document.dispatchEvent(new CustomEvent("rollcall:panel-resized")); }

  document.addEventListener("DOMContentLoaded", function () {
    trackTopbar();
    initResizer();
  });
})();
