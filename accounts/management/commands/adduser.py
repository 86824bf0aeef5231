"""`manage.py adduser NAME --role viewer|operator|release-manager`: create a user with a role, or change the role of
an existing one (--update)."""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.permissions import ROLE_OPTIONS, ROLE_PERMISSIONS
from accounts.signals import announce_groups_change, group_names

UNKNOWN_ROLE = "Unknown role {role}: choose one of {roles}."
USER_EXISTS = "User {username} already exists; add --update to change its role."
PASSWORD_REQUIRED = "No password for {username}: give --password or run interactively."
PASSWORDS_DIFFER = "The two passwords differ; nothing changed."
INVALID_PASSWORD = "Password refused: {reasons}"
INVALID_USERNAME = "Username refused: {reasons}"
CREATED = "Created user {username} with role {role}."
UPDATED = "User {username} now has role {role}."


class Command(BaseCommand):
    help = (
        "Create a user with a role: viewer (reads everything), operator (carries out steps) or release-manager "
        "(also changes releases, template steps, customer steps, clusters and customers). Without --password, asks "
        "for it twice when run in a terminal. --update changes the role (and the password or e-mail when given) of "
        "an existing user instead of refusing."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help=f"One of: {', '.join(ROLE_OPTIONS)}.")
        parser.add_argument("--password", help="The password (checked by the password validators).")
        parser.add_argument("--email", help="The e-mail address.")
        parser.add_argument("--update", action="store_true", help="Change an existing user instead of refusing.")

    def handle(self, *args, username, role, password, email, update, **options):
        if role not in ROLE_OPTIONS:
            raise CommandError(UNKNOWN_ROLE.format(role=role, roles=", ".join(ROLE_OPTIONS)))
        role = ROLE_OPTIONS[role]
        user_model = get_user_model()
        with transaction.atomic():
            user = user_model.objects.filter(username=username).first()
            created = user is None
            if not created and not update:
                raise CommandError(USER_EXISTS.format(username=username))
            if created:
                user = user_model(username=username)
                try:
                    user_model._meta.get_field(user_model.USERNAME_FIELD).clean(username, user)
                except ValidationError as error:
                    raise CommandError(INVALID_USERNAME.format(reasons=" ".join(error.messages))) from error
            if email is not None:
                user.email = user_model.objects.normalize_email(email)
            if password is None and created:
                password = self._ask_password(username)
            if password is not None:
                try:
                    validate_password(password, user)
                except ValidationError as error:
                    raise CommandError(INVALID_PASSWORD.format(reasons=" ".join(error.messages))) from error
                user.set_password(password)
            before = [] if created else group_names(user)
            user.save()
            # A user has one role: leave the other role groups, keep any other group.
            user.groups.remove(*Group.objects.filter(name__in=ROLE_PERMISSIONS).exclude(name=role))
            user.groups.add(Group.objects.get(name=role))
            announce_groups_change(user, before, source="adduser")
        self.stdout.write(self.style.SUCCESS((CREATED if created else UPDATED).format(username=username, role=role)))

    def _ask_password(self, username: str) -> str:
        """Ask twice in a terminal; refuse when nobody is there to answer (a script, a pipe)."""
        if not sys.stdin.isatty():
            raise CommandError(PASSWORD_REQUIRED.format(username=username))
        password = getpass.getpass(f"Password for {username}: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError(PASSWORDS_DIFFER)
        return password
