"""`manage.py api_token create USERNAME [--name NAME] [--expires DAYS]`: make an API token for a user and print it
(the only time it can be read: only its hash is kept)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.services import DEFAULT_EXPIRY_DAYS, api_token_create
from core.errors import DomainError

UNKNOWN_USER = "Unknown user {username}."


class Command(BaseCommand):
    help = (
        "Make an API token for a user: it acts with that user's role. The token is printed once, on standard "
        "output alone (so `TOKEN=$(manage.py api_token create ana)` works); only its hash is kept."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        create = commands.add_parser("create", help="Make a token and print it.")
        create.add_argument("username")
        create.add_argument("--name", default="api", help="What uses it, e.g. jenkins (default: api).")
        create.add_argument(
            "--expires",
            type=int,
            default=DEFAULT_EXPIRY_DAYS,
            metavar="DAYS",
            help=f"Days until it stops working (default {DEFAULT_EXPIRY_DAYS}).",
        )

    def handle(self, *args, command, username, name, expires, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(UNKNOWN_USER.format(username=username))
        try:
            token, secret = api_token_create(user=user, name=name, expires_in_days=expires)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(secret)
        self.stderr.write(f"Token {token.name} for {username}, expires {token.expires_at:%Y-%m-%d %H:%M %Z}.")
