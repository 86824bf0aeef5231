"""`manage.py archive_releases`: archive every active release that is finished (FR-005, spec §7.2 step 5)."""

from django.core.management.base import BaseCommand

from releases.selectors import releases_ready_to_archive
from releases.services import release_archive

NONE_READY = "No release is ready to archive."


class Command(BaseCommand):
    help = (
        "Archive every active release in which no step of a current customer is pending or reverted. "
        "The history records the change as made by 'system'."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List the releases that would be archived; change nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options):
        releases = list(releases_ready_to_archive().order_by("name", "id"))
        if not releases:
            self.stdout.write(NONE_READY)
            return
        for release in releases:
            if dry_run:
                self.stdout.write(f"Would archive {release.name}")
            else:
                release_archive(release=release, user=None)
                self.stdout.write(f"Archived {release.name}")
        if dry_run:
            self.stdout.write(f"Dry run: {len(releases)} release(s) would be archived; nothing changed.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Archived {len(releases)} release(s)."))
