"""The audit page: the whole history, filtered by any object it names, paginated and exported as CSV. It reads
every app, so it stands on top of them all."""
