"""The refusals that follow from a release's status, checked by the release services and the step services alike."""

from core.errors import DomainError
from releases.choices import ReleaseStatus

RELEASE_ARCHIVED = "Release {name} is archived; it can no longer change."
RELEASE_NOT_ACTIVE = "Release {name} is {status}; its customer steps cannot change."


def refuse_if_archived(release) -> None:
    """Archived releases are a closed record: nothing in them changes any more."""
    if release.status == ReleaseStatus.ARCHIVED:
        raise DomainError(RELEASE_ARCHIVED.format(name=release.name))


def refuse_if_not_active(release, message: str = RELEASE_NOT_ACTIVE) -> None:
    """Customer steps change only while their release is active (a draft has none yet, an archive is closed)."""
    if release.status != ReleaseStatus.ACTIVE:
        raise DomainError(message.format(name=release.name, status=release.get_status_display().lower()))
