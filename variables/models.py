"""A variable: a `#{name}` value defined for one customer, one cluster or one release (its defaults)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from core.models import SoftDeleteModel
from core.variables import is_valid_name

# How a sensitive value is shown everywhere: screens, history, the audit page, CSV.
MASK = "••••"
INVALID_NAME = "Variable names start with a letter or _ and contain only letters, digits, _, . and -."
# The scopes a variable can belong to, one per foreign key, most specific first.
SCOPES = ("customer", "cluster", "release")
_SCOPE_OF_MODEL = {"customers.Customer": "customer", "clusters.Cluster": "cluster", "releases.Release": "release"}


def scope_of(owner) -> str:
    """Which foreign key holds `owner` (a Customer, Cluster or Release): "customer", "cluster" or "release"."""
    scope = _SCOPE_OF_MODEL.get(getattr(getattr(owner, "_meta", None), "label", None))
    if scope is None:
        raise TypeError(f"Variables belong to a customer, a cluster or a release, not {owner!r}.")
    return scope


def validate_variable_name(name: str) -> None:
    """Refuse a name that can't be written as `#{name}` in step content."""
    if not is_valid_name(name):
        raise ValidationError(INVALID_NAME, code="invalid_name")


def _only(scope: str) -> Q:
    """Exactly `scope`'s foreign key is set."""
    return Q(**{f"{name}__isnull": name != scope for name in SCOPES})


class Variable(SoftDeleteModel):
    """A key/value pair of one customer, cluster or release (exactly one foreign key is set).

    A sensitive value is kept only encrypted (`encrypted_value`, core.crypto) and `value` stays empty; a plain one
    the other way round. Deleting a variable is a soft delete, so a deleted key can be defined again.
    """

    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="variables"
    )
    cluster = models.ForeignKey(
        "clusters.Cluster", null=True, blank=True, on_delete=models.PROTECT, related_name="variables"
    )
    release = models.ForeignKey(
        "releases.Release", null=True, blank=True, on_delete=models.PROTECT, related_name="variables"
    )
    key = models.CharField("name", max_length=200, validators=[validate_variable_name])
    value = models.TextField(blank=True, help_text="A sensitive value is never shown: enter a new one to replace it.")
    encrypted_value = models.TextField(blank=True, editable=False)
    is_sensitive = models.BooleanField("sensitive", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key", "id"]
        constraints = [
            models.CheckConstraint(
                condition=_only("customer") | _only("cluster") | _only("release"),
                name="variable_has_one_scope",
                violation_error_message="A variable belongs to exactly one customer, cluster or release.",
            ),
            models.CheckConstraint(
                condition=Q(is_sensitive=True, value="") | Q(is_sensitive=False, encrypted_value=""),
                name="variable_sensitive_value_encrypted",
                violation_error_message="A sensitive value is stored encrypted only; a plain one never encrypted.",
            ),
            *(
                models.UniqueConstraint(
                    fields=[scope, "key"],
                    condition=Q(**{f"{scope}__isnull": False, "deleted_at__isnull": True}),
                    name=f"variable_key_unique_per_{scope}",
                    violation_error_message=f"This {scope} already has a variable with this name.",
                )
                for scope in SCOPES
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def owner(self):
        """The customer, cluster or release the variable belongs to."""
        return next(getattr(self, scope) for scope in SCOPES if getattr(self, f"{scope}_id") is not None)

    @property
    def display_value(self) -> str:
        """The value as a page may show it: masked when sensitive (the clear text is never at hand here)."""
        return MASK if self.is_sensitive else self.value
