// Bulk actions: select customers (checkboxes, select all, shift-click ranges) and act on all of them (issue 9).
