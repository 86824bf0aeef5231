"""Check the progress counters against the customer steps they count; with --rebuild, count them again."""

from django.core.management.base import BaseCommand, CommandError

from steps.progress import counter_mismatches, rebuild_counters


class Command(BaseCommand):
    help = (
        "Check that every progress counter (steps.ProgressCounter) says what counting the steps says; "
        "--rebuild counts the wrong ones again. Exits with status 1 when some differ and --rebuild is not given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="count the steps again into the wrong counters")

    def handle(self, *args, rebuild: bool = False, **options):
        if rebuild:
            fixed = rebuild_counters()
            self.stdout.write(f"{fixed} progress counter{'' if fixed == 1 else 's'} rebuilt.")
            return
        wrong = counter_mismatches()
        for (release_id, customer_id, category), (counter, steps) in sorted(wrong.items()):
            self.stderr.write(
                f"release {release_id}, customer {customer_id}, {category}: counter (total, done, skipped) {counter}, "
                f"steps {steps}"
            )
        if wrong:
            raise CommandError(f"{len(wrong)} progress counters differ from the steps: run with --rebuild.")
        self.stdout.write("Every progress counter equals its steps.")
