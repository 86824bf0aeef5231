"""What the accounts layer announces for the audit trail (history listens: it sits above accounts)."""

from django.contrib.auth.models import Group
from django.dispatch import Signal

# A user's groups changed: user, before and after (sorted group names), by (who changed them, None: a command or a
# sign-in), source ("admin", "adduser", "single sign-on"), request (or None).
groups_changed = Signal()
# A user logged out their other sessions (accounts.services.user_sessions_end_others): user, count, request.
other_sessions_ended = Signal()


def group_names(user) -> list[str]:
    return sorted(Group.objects.filter(user=user).values_list("name", flat=True))


def announce_groups_change(user, before: list[str], *, by=None, source: str, request=None) -> None:
    """Announce the change when the user's groups differ from `before` (read before the change)."""
    after = group_names(user)
    if after != before:
        groups_changed.send(
            sender=user.__class__, user=user, before=before, after=after, by=by, source=source, request=request
        )
