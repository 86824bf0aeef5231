"""The step screens, one module per screen: the release matrix (matrix), one step's side panel and download
(panel), the actions on a step (actions), one customer's checklist (customer) and one template step across
customers (template_step)."""
