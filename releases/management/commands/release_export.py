"""`manage.py release_export RELEASE > file.yaml`: write a release's definition as YAML (see releases.definition)."""

from django.core.management.base import BaseCommand, CommandError

from releases.definition import export_definition
from releases.models import Release

NOT_FOUND = "No release is named or numbered {release}."
SEVERAL = "{count} releases are named {release}: give the id of one ({ids})."


def find_release(wanted: str) -> Release:
    """The release named `wanted`, or else the one whose id it is; refuse none, or several of that name."""
    named = list(Release.objects.filter(name=wanted.strip()).order_by("pk"))
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise CommandError(
            SEVERAL.format(count=len(named), release=wanted, ids=", ".join(str(release.pk) for release in named))
        )
    if wanted.isdigit():
        release = Release.objects.filter(pk=int(wanted)).first()
        if release is not None:
            return release
    raise CommandError(NOT_FOUND.format(release=wanted))


class Command(BaseCommand):
    help = (
        "Write a release's definition (fields, template steps, variable defaults) as YAML to standard output. "
        "A sensitive variable is written without its value."
    )

    def add_arguments(self, parser):
        parser.add_argument("release", help="The release's name, or its id.")

    def handle(self, *args, release: str, **options):
        self.stdout.write(export_definition(find_release(release)), ending="")
