"""The API's views: one module per part of Rollcall (inventory, releases, steps) and the API tokens page."""
