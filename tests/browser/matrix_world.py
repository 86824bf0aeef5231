"""A matrix wider than the room the side panel leaves, for the workspace, keyboard and accessibility browser tests."""

from types import SimpleNamespace

from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_step_mark_done
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

STEP_NAMES = ("Stop workers", "Deploy app", "Run migration", "Start workers")


def wide_matrix(user, *, customers: int = 10) -> SimpleNamespace:
    """An active release v3.0.0 for two clusters: prod-us with `customers` customers (customer-01…), staging with
    demo-customer; four deploy steps and one verify step. customer-01 has done its second step."""
    prod = ClusterFactory(name="prod-us")
    staging = ClusterFactory(name="staging")
    names = [f"customer-{n:02d}" for n in range(1, customers + 1)]
    people = {name: CustomerFactory(cluster=prod, name=name, namespace=f"ns-{name[-2:]}") for name in names}
    people["demo-customer"] = CustomerFactory(cluster=staging, name="demo-customer", namespace="demo")
    release = ReleaseFactory(name="v3.0.0", version_number="v3.0.0")
    templates = [
        StepTemplateFactory(release=release, name=name, category="deploy", order_index=index)
        for index, name in enumerate(STEP_NAMES)
    ]
    templates.append(StepTemplateFactory(release=release, name="Health check", category="verify", order_index=0))
    release_activate(release=release, user=user)
    steps = {(step.customer.name, step.name): step for step in CustomerStep.objects.select_related("customer")}
    customer_step_mark_done(step=steps["customer-01", "Deploy app"], user=user)
    return SimpleNamespace(release=release, customers=people, names=names, templates=templates, steps=steps)


def matrix_cell(page, customer: str, step: str):
    """A matrix cell's button, found as a person finds it: in the column of the customer's header and the row of the
    step's name (a cell carries no title: the table's headers say whose step it is)."""
    head = f"thead/tr/th[a[normalize-space()='{customer}']]"
    row = (
        f"tr[th[a[substring-after(normalize-space(), '. ')='{step}'] or normalize-space()='↳ {step} ❎ CUSTOM'"
        f" or normalize-space()='↳ {step} DETACHED']]"
    )
    return page.locator(
        f"xpath=//table[contains(concat(' ', @class, ' '), ' matrix ')][{head}]/tbody/{row}"
        f"/td[count(ancestor::table[1]/{head}/preceding-sibling::th)]/button"
    )
