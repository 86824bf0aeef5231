"""`manage.py unlock USERNAME [--ip ADDRESS]`: lift a brute-force lockout (accounts.lockout) before its cool-off."""

from axes.models import AccessAttempt
from django.core.management.base import BaseCommand, CommandError

from accounts.lockout import unlock

NOTHING_TO_UNLOCK = "No failed sign-in recorded for {who}: nothing to unlock."
UNLOCKED = "Unlocked {who}: {count} lockout record(s) removed."


class Command(BaseCommand):
    help = (
        "Unlock a username locked out after too many wrong passwords, from every address or from one (--ip). The "
        "unlock is recorded in the audit trail."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--ip", help="Only the lockout from this address.")

    def handle(self, *args, username, ip, **options):
        attempts = AccessAttempt.objects.filter(username=username)
        who = f"{username} from {ip}" if ip else username
        if ip:
            attempts = attempts.filter(ip_address=ip)
        if not attempts.exists():
            raise CommandError(NOTHING_TO_UNLOCK.format(who=who))
        count = unlock(attempts)
        self.stdout.write(self.style.SUCCESS(UNLOCKED.format(who=who, count=count)))
