"""What every page needs to know of runs: whether steps can run on the clusters here (ROLLCALL_EXECUTION)."""

from django.conf import settings


def execution(request) -> dict:
    return {"execution_enabled": settings.ROLLCALL_EXECUTION}
