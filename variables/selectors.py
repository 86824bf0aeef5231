"""Reading variables: an owner's list, the values a customer's steps resolve in a release, and which names are
defined, each in a constant number of queries."""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q

from core import crypto
from core.errors import DomainError
from variables.models import Variable, scope_of

# Names every customer has in every release, whatever is defined: the lowest precedence.
BUILT_IN_NAMES = ("customer", "namespace", "cluster", "release", "version")


def variables_of(owner) -> list[Variable]:
    """The variables a customer, cluster or release defines, by name."""
    return list(Variable.objects.filter(**{scope_of(owner): owner}).order_by("key"))


def built_in_values(customer, release) -> dict[str, str]:
    """`#{customer}`, `#{namespace}`, `#{cluster}`, `#{release}` and `#{version}` (empty for a hotfix without one)."""
    return {
        "customer": customer.name,
        "namespace": customer.namespace,
        "cluster": customer.cluster.name,
        "release": release.name,
        "version": release.version_number or "",
    }


def clear_value(variable: Variable) -> str:
    """The value itself, decrypted when sensitive: only for what an operator copies or downloads.

    A value that can't be decrypted (no key, or a key no longer listed) is refused with the how-to message.
    """
    if not variable.is_sensitive:
        return variable.value
    try:
        return crypto.decrypt(variable.encrypted_value)
    except (crypto.EncryptionNotConfigured, crypto.UndecryptableValue) as error:
        raise DomainError(str(error)) from None


def _in_precedence_order(customer, release) -> list[Variable]:
    """The customer's, its cluster's and the release's variables, weakest first: release, cluster, customer."""
    variables = Variable.objects.filter(
        Q(customer_id=customer.pk) | Q(cluster_id=customer.cluster_id) | Q(release_id=release.pk)
    )
    # (False, False) a release's, (False, True) a cluster's, (True, False) a customer's.
    return sorted(variables, key=lambda variable: (variable.customer_id is not None, variable.cluster_id is not None))


def resolved_values(customer, release) -> dict[str, str]:
    """Every value `customer`'s steps in `release` can use, in clear: the customer's variables over its cluster's
    over the release's defaults over the built-ins. One query (two if the customer's cluster isn't loaded)."""
    values = built_in_values(customer, release)
    for variable in _in_precedence_order(customer, release):
        values[variable.key] = clear_value(variable)
    return values


def resolved_values_of(*, release, customers: Iterable) -> dict[int, dict[str, str]]:
    """`resolved_values` of many customers of one release (their clusters loaded), by customer id: one query
    however many customers, each value decrypted once."""
    customers = list(customers)
    values = {customer.pk: built_in_values(customer, release) for customer in customers}
    by_cluster: dict[int, list[int]] = defaultdict(list)
    for customer in customers:
        by_cluster[customer.cluster_id].append(customer.pk)
    variables = Variable.objects.filter(
        Q(release_id=release.pk) | Q(cluster_id__in=by_cluster) | Q(customer_id__in=values)
    )
    # Weakest first (release, cluster, customer), so that a stronger value overwrites a weaker one.
    for variable in sorted(variables, key=lambda item: (item.customer_id is not None, item.cluster_id is not None)):
        if variable.customer_id is not None:
            owners = [variable.customer_id]
        elif variable.cluster_id is not None:
            owners = by_cluster[variable.cluster_id]
        else:
            owners = values
        value = clear_value(variable)
        for customer_id in owners:
            values[customer_id][variable.key] = value
    return values


def displayed_values(customer, release) -> dict[str, str]:
    """The same values as `resolved_values` as a page shows them: sensitive ones masked, nothing decrypted."""
    values = built_in_values(customer, release)
    for variable in _in_precedence_order(customer, release):
        values[variable.key] = variable.display_value
    return values


def defined_names(*, release, customers: Iterable) -> dict[int, frozenset[str]]:
    """For each customer (by id), the names that have a value in `release`: built-ins, release defaults, its
    cluster's and its own. One query however many customers; a step is blocked when it uses a name not in here."""
    customers = list(customers)
    release_names = set(BUILT_IN_NAMES)
    by_cluster: dict[int, set[str]] = defaultdict(set)
    by_customer: dict[int, set[str]] = defaultdict(set)
    rows = Variable.objects.filter(
        Q(release_id=release.pk)
        | Q(cluster_id__in={customer.cluster_id for customer in customers})
        | Q(customer_id__in={customer.pk for customer in customers})
    ).values_list("customer_id", "cluster_id", "key")
    for customer_id, cluster_id, key in rows:
        if customer_id is not None:
            by_customer[customer_id].add(key)
        elif cluster_id is not None:
            by_cluster[cluster_id].add(key)
        else:
            release_names.add(key)
    return {
        customer.pk: frozenset(release_names | by_cluster[customer.cluster_id] | by_customer[customer.pk])
        for customer in customers
    }


def sensitive_names(customer, release) -> frozenset[str]:
    """The names whose value for `customer` in `release` is sensitive (after precedence: a customer's plain value
    over its cluster's sensitive one is plain). One query."""
    final: dict[str, bool] = {}
    for variable in _in_precedence_order(customer, release):
        final[variable.key] = variable.is_sensitive
    return frozenset(name for name, sensitive in final.items() if sensitive)
