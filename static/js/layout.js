// Small layout helpers (issue 9): Add Custom Step offers only the insert positions of the chosen category.
(function () {
  "use strict";
  var FORM = "form[data-positions-by-category]";

  // Insert Position's options are grouped by category (an <optgroup> labelled like the Category option); the groups
  // of the other categories are hidden and disabled, and a position left in one falls back to "at the end". The
  // server still refuses a position in another category.
  function filterPositions(form) {
    var category = form.querySelector('select[name="category"]');
    var position = form.querySelector('select[name="relative_to"]');
    if (!category || !position || category.selectedIndex < 0) return;
    var chosen = category.options[category.selectedIndex].text;
    position.querySelectorAll("optgroup").forEach(function (group) {
      var other = group.label !== chosen;
      group.hidden = other;
      group.disabled = other;
    });
    var selected = position.options[position.selectedIndex];
    if (selected && selected.parentElement.disabled) position.value = "";
  }

  function init(root) {
    if (root.matches && root.matches(FORM)) filterPositions(root);
    if (root.querySelectorAll) root.querySelectorAll(FORM).forEach(filterPositions);
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest(FORM);
    if (form && event.target.name === "category") filterPositions(form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    if (window.htmx) window.htmx.onLoad(init);
  });
})();
