"""`manage.py backup_sqlite PATH`: copy the SQLite database to PATH while Rollcall keeps serving requests."""

import sqlite3
from contextlib import closing
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

NO_DIRECTORY = "Cannot write the backup to {path}: the directory {directory} does not exist."
SAME_FILE = "Cannot write the backup to {path}: that is the database itself."
NOT_SQLITE = "The database is not SQLite: back up PostgreSQL with pg_dump (see the README, Deploying)."
BACKUP_FAILED = "The backup to {path} failed: {error}"
DONE = "Backed up {source} to {path}."


class Command(BaseCommand):
    help = (
        "Copy the SQLite database to PATH with SQLite's online backup: safe while the app runs, the copy is "
        "consistent. An existing SQLite file at PATH is replaced."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the backup file to write")

    def handle(self, *args, path, **options):
        target = Path(path)
        if not target.parent.is_dir():
            raise CommandError(NO_DIRECTORY.format(path=target, directory=target.parent))
        if connection.vendor != "sqlite":
            raise CommandError(NOT_SQLITE)
        source = Path(connection.settings_dict["NAME"])
        if target.resolve() == source.resolve():
            raise CommandError(SAME_FILE.format(path=target))
        # A connection of its own: it copies what is committed, page by page, while other connections keep writing.
        try:
            with closing(sqlite3.connect(source)) as source_db, closing(sqlite3.connect(target)) as backup_db:
                source_db.backup(backup_db)
        except sqlite3.Error as error:
            raise CommandError(BACKUP_FAILED.format(path=target, error=error)) from error
        self.stdout.write(DONE.format(source=source, path=target))
