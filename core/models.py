"""Soft deletion: records the application removes stay in the database with their history."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from core.errors import DomainError


class AliveManager(models.Manager):
    """The default manager: records that have not been deleted."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class SoftDeleteModel(models.Model):
    """A record that is never removed from the database: deletion sets `deleted_at`.

    `objects` hides deleted records everywhere (lists, reverse relations, validation); `all_objects` sees them
    (the admin, restore, history). Related objects reached through a foreign key (`step.customer`) are loaded
    with the plain base manager, so a deleted customer still shows on its old steps.
    """

    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AliveManager()
    all_objects = models.Manager()  # noqa: DJ012 (ruff takes a Manager() for a field)

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


def validate_or_refuse(instance: models.Model, *, fields: list[str] | tuple[str, ...] | None = None) -> None:
    """Run the model's field validators and database constraints; refuse with a DomainError naming the field.

    With `fields`, only those fields' validators run (a change of a step's notes need not re-check its foreign
    keys and constraints, which costs a query each).
    """
    exclude = None if fields is None else [f.name for f in instance._meta.fields if f.name not in fields]
    try:
        instance.full_clean(exclude=exclude, validate_unique=fields is None, validate_constraints=fields is None)
    except ValidationError as error:
        errors = {field: [str(message) for message in messages] for field, messages in error.message_dict.items()}
        field, messages = next(iter(errors.items()))
        label = "" if field == NON_FIELD_ERRORS else f"{instance._meta.get_field(field).verbose_name.capitalize()}: "
        raise DomainError(
            f"{label}{messages[0]}",
            field=None if field == NON_FIELD_ERRORS else field,
            errors=errors,
        ) from error
