"""`manage.py release_import file.yaml`: create a draft release from a definition, or update the draft of the same
name (see releases.definition). A refused definition changes nothing: its problems go to standard error, each with
its line, and the command ends with a non-zero status."""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from releases.definition import DefinitionError, import_definition

REFUSED = "{file}: the definition was refused; nothing changed."
UNREADABLE = "{file}: cannot be read as UTF-8 text: {error}"
NO_SUCH_USER = "No user is named {username}."


class Command(BaseCommand):
    help = (
        "Import a release definition (YAML): a new draft release, or the draft release of the same name updated in "
        "place. The history records the change as made by 'system', or by --user."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The YAML file, or - for standard input.")
        parser.add_argument("--user", help="Record the changes as this user's (who must be allowed to make them).")

    def handle(self, *args, file: str, user: str | None = None, **options):
        actor = None
        if user is not None:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(NO_SUCH_USER.format(username=user))
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(UNREADABLE.format(file=file, error=error)) from None
        try:
            result = import_definition(text, user=actor)
        except PermissionDenied as error:
            raise CommandError(str(error)) from None
        except DefinitionError as error:
            for problem in error.errors["definition"]:
                self.stderr.write(f"{file}: {problem}")
            raise CommandError(REFUSED.format(file=file)) from None
        self.stdout.write(self.style.SUCCESS(result.summary()))
        for change in result.changes:
            self.stdout.write(f"  {change}")
