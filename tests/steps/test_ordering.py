"""The order of customer steps (BR-S04, BR-S05, FCS-008): per category, template steps at positions 0, 1, 2…,
custom steps exactly where they were inserted, through repeated inserts, template reorders, "add to template"
and template deletions."""

import pytest

from releases.services import release_activate
from steps.models import STEP_ORDER, CustomerStep, StepTemplate
from steps.services import (
    customer_step_add_custom,
    customer_step_mark_done,
    template_step_add,
    template_step_delete,
    template_steps_reorder,
)

pytestmark = pytest.mark.django_db

TEMPLATE_ONLY = ["Deploy app", "Run migration"]
CUSTOMS = [f"Custom {n:02d}" for n in range(50)]
NEWEST_FIRST = CUSTOMS[::-1]


@pytest.fixture
def active(world):
    """The example world with its release activated: every customer has the three template steps."""
    release_activate(release=world.release, user=world.user)
    world.release.refresh_from_db()
    return world


def step_names(world, customer_name, category="deploy") -> list[str]:
    """A customer's step names in the order the checklist shows them."""
    steps = CustomerStep.objects.filter(
        release=world.release, customer=world.customers[customer_name], category=category
    ).order_by(*STEP_ORDER)
    return list(steps.values_list("name", flat=True))


def template_names(world, category="deploy") -> list[str]:
    """The live template steps of a category in order; their positions must be exactly 0..n-1 (BR-S05)."""
    templates = StepTemplate.objects.filter(release=world.release, category=category).order_by("order_index")
    assert list(templates.values_list("order_index", flat=True)) == list(range(templates.count()))
    return list(templates.values_list("name", flat=True))


def template_step_of(world, customer_name, template_name) -> CustomerStep:
    return CustomerStep.objects.get(
        release=world.release, customer=world.customers[customer_name], template__name=template_name
    )


def add_custom(world, customer_name, name, position=None, next_to=None, *, category="deploy", **kw):
    """Add a custom step for one customer, `position` ("before"/"after") `next_to` one of its steps, given as the
    step or as the name of a template step."""
    if isinstance(next_to, str):
        next_to = template_step_of(world, customer_name, next_to)
    return customer_step_add_custom(
        release=world.release,
        customer=world.customers[customer_name],
        user=world.user,
        name=name,
        category=category,
        type="bash",
        content=f"echo '{name}'",
        position=position,
        relative_to=next_to,
        **kw,
    )


def reorder(world, names, category="deploy"):
    ids = [StepTemplate.objects.get(release=world.release, name=name).pk for name in names]
    template_steps_reorder(release=world.release, category=category, ordered_ids=ids, user=world.user)


def orders_of_the_others(world, *customer_names) -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The distinct (deploy, verify) orders of every customer not named: one element when they all agree."""
    return {
        (tuple(step_names(world, name)), tuple(step_names(world, name, "verify")))
        for name in world.customers
        if name not in customer_names
    }


def only_templates(deploy=TEMPLATE_ONLY) -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
    return {(tuple(deploy), ("Health check",))}


# --- BR-S04, BR-S05: positions per category ------------------------------------------------------------------


def test_br_s04_order_is_per_category(active):
    add_custom(active, "customer-a", "Tag image", "after", "Deploy app")
    add_custom(active, "customer-a", "Check logs", "after", "Health check", category="verify")
    template_step_add(
        release=active.release,
        user=active.user,
        name="Smoke test",
        category="verify",
        type="bash",
        content="curl -f x",
        index=0,
    )
    reorder(active, ["Run migration", "Deploy app"])

    assert template_names(active) == ["Run migration", "Deploy app"]
    assert template_names(active, "verify") == ["Smoke test", "Health check"]
    assert step_names(active, "customer-a") == ["Run migration", "Deploy app", "Tag image"]
    assert step_names(active, "customer-a", "verify") == ["Smoke test", "Health check", "Check logs"]
    assert step_names(active, "customer-b", "verify") == ["Smoke test", "Health check"]


def test_br_s05_template_steps_keep_positions_0_to_n_through_every_change(active):
    add_custom(active, "customer-a", "Tag image", "after", "Deploy app")
    template_step_add(
        release=active.release,
        user=active.user,
        name="Smoke test",
        category="deploy",
        type="bash",
        content="curl -f x",
        index=1,
    )
    add_custom(active, "customer-a", "Warm cache", "before", "Deploy app", add_to_template=True)
    template_step_delete(template_step=StepTemplate.objects.get(name="Smoke test"), user=active.user)
    reorder(active, ["Run migration", "Warm cache", "Deploy app"])

    assert template_names(active) == ["Run migration", "Warm cache", "Deploy app"]
    assert template_names(active, "verify") == ["Health check"]
    assert step_names(active, "customer-a") == ["Run migration", "Warm cache", "Deploy app", "Tag image"]


def test_fcs_008_custom_steps_sit_between_template_steps(active):
    tag = add_custom(active, "customer-a", "Tag image", "after", "Deploy app")
    add_custom(active, "customer-a", "Backup db", "before", "Run migration")
    add_custom(active, "customer-a", "Pull image", "before", tag)
    add_custom(active, "customer-a", "Notify team")

    assert step_names(active, "customer-a") == [
        "Deploy app",
        "Pull image",
        "Tag image",
        "Backup db",
        "Run migration",
        "Notify team",
    ]
    assert template_names(active) == TEMPLATE_ONLY
    assert orders_of_the_others(active, "customer-a") == only_templates()


# --- FCS-008: many inserts at the same spot ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "first_next_to", "chained", "expected"),
    [
        pytest.param(
            "after", "Deploy app", False, ["Deploy app", *NEWEST_FIRST, "Run migration"], id="after-same-step"
        ),
        pytest.param("after", "Deploy app", True, ["Deploy app", *CUSTOMS, "Run migration"], id="after-previous"),
        pytest.param(
            "before", "Run migration", False, ["Deploy app", *CUSTOMS, "Run migration"], id="before-same-step"
        ),
        pytest.param(
            "before", "Run migration", True, ["Deploy app", *NEWEST_FIRST, "Run migration"], id="before-previous"
        ),
        pytest.param("before", "Deploy app", False, [*CUSTOMS, *TEMPLATE_ONLY], id="before-first-step"),
        pytest.param("before", "Deploy app", True, [*NEWEST_FIRST, *TEMPLATE_ONLY], id="before-previous-from-first"),
    ],
)
def test_fcs_008_fifty_inserts_at_the_same_spot_keep_the_exact_order(
    active, position, first_next_to, chained, expected
):
    next_to = template_step_of(active, "customer-c", first_next_to)

    for name in CUSTOMS:
        inserted = add_custom(active, "customer-c", name, position, next_to)
        if chained:
            next_to = inserted

    assert step_names(active, "customer-c") == expected
    assert step_names(active, "customer-c", "verify") == ["Health check"]
    assert orders_of_the_others(active, "customer-c") == only_templates()


# --- FCS-008: template reorders and deletions -----------------------------------------------------------------


def test_fcs_008_custom_step_stays_after_its_step_when_templates_are_reordered(active):
    template_step_add(
        release=active.release, user=active.user, name="Smoke test", category="deploy", type="bash", content="curl -f x"
    )
    add_custom(active, "customer-a", "Tag image", "after", "Deploy app")
    backup = add_custom(active, "customer-a", "Backup db", "after", "Run migration")
    add_custom(active, "customer-a", "Vacuum db", "after", backup)

    reorder(active, ["Smoke test", "Run migration", "Deploy app"])

    assert step_names(active, "customer-a") == [
        "Smoke test",
        "Run migration",
        "Backup db",
        "Vacuum db",
        "Deploy app",
        "Tag image",
    ]

    reorder(active, ["Deploy app", "Smoke test", "Run migration"])

    assert step_names(active, "customer-a") == [
        "Deploy app",
        "Tag image",
        "Smoke test",
        "Run migration",
        "Backup db",
        "Vacuum db",
    ]
    assert orders_of_the_others(active, "customer-a") == only_templates(["Deploy app", "Smoke test", "Run migration"])


def test_fcs_008_step_before_the_first_template_step_survives_reorder_and_delete(active):
    first = add_custom(active, "customer-a", "Drain traffic", "before", "Deploy app")
    assert first.anchor_id is None
    add_custom(active, "customer-a", "Scale down", "before", "Deploy app")
    assert step_names(active, "customer-a") == ["Drain traffic", "Scale down", "Deploy app", "Run migration"]

    reorder(active, ["Run migration", "Deploy app"])
    assert step_names(active, "customer-a") == ["Drain traffic", "Scale down", "Run migration", "Deploy app"]

    customer_step_mark_done(step=template_step_of(active, "customer-a", "Run migration"), user=active.user)
    add_custom(active, "customer-a", "Check schema", "after", "Run migration")
    template_step_delete(template_step=StepTemplate.objects.get(name="Run migration"), user=active.user)

    assert step_names(active, "customer-a") == [
        "Drain traffic",
        "Scale down",
        "Run migration",
        "Check schema",
        "Deploy app",
    ]
    assert template_names(active) == ["Deploy app"]
    assert orders_of_the_others(active, "customer-a") == only_templates(["Deploy app"])


# --- FCS-008: "add to template" ----------------------------------------------------------------------------------


def test_fcs_008_add_to_template_between_custom_steps_lands_where_requested(active):
    tag = add_custom(active, "customer-a", "Tag image", "after", "Deploy app")
    add_custom(active, "customer-a", "Push image", "after", tag)
    add_custom(active, "customer-b", "Pause jobs", "after", "Deploy app")

    step = add_custom(active, "customer-a", "Warm cache", "after", tag, add_to_template=True)

    assert (step.is_custom, step.template.name, step.customer.name) == (False, "Warm cache", "customer-a")
    assert template_names(active) == ["Deploy app", "Warm cache", "Run migration"]
    assert step_names(active, "customer-a") == ["Deploy app", "Tag image", "Warm cache", "Push image", "Run migration"]
    # customer-b's own step stays right after the step it was inserted after.
    assert step_names(active, "customer-b") == ["Deploy app", "Pause jobs", "Warm cache", "Run migration"]
    assert orders_of_the_others(active, "customer-a", "customer-b") == only_templates(
        ["Deploy app", "Warm cache", "Run migration"]
    )


def test_fcs_008_add_to_template_before_a_custom_step(active):
    tag = add_custom(active, "customer-a", "Tag image", "after", "Deploy app")

    add_custom(active, "customer-a", "Warm cache", "before", tag, add_to_template=True)

    assert step_names(active, "customer-a") == ["Deploy app", "Warm cache", "Tag image", "Run migration"]
    assert orders_of_the_others(active, "customer-a") == only_templates(["Deploy app", "Warm cache", "Run migration"])


def test_fcs_008_add_to_template_before_the_first_template_step(active):
    add_custom(active, "customer-a", "Drain traffic", "before", "Deploy app")

    add_custom(active, "customer-a", "Warm cache", "before", "Deploy app", add_to_template=True)

    assert template_names(active) == ["Warm cache", "Deploy app", "Run migration"]
    assert step_names(active, "customer-a") == ["Drain traffic", "Warm cache", "Deploy app", "Run migration"]
    assert orders_of_the_others(active, "customer-a") == only_templates(["Warm cache", "Deploy app", "Run migration"])


def test_fcs_008_fifty_add_to_template_inserts_at_the_same_spot(active):
    tag = add_custom(active, "customer-a", "Tag image", "after", "Deploy app")
    add_custom(active, "customer-a", "Push image", "after", tag)

    for name in CUSTOMS:
        add_custom(active, "customer-a", name, "after", tag, add_to_template=True)

    expected_templates = ["Deploy app", *NEWEST_FIRST, "Run migration"]
    assert template_names(active) == expected_templates
    assert step_names(active, "customer-a") == ["Deploy app", "Tag image", *NEWEST_FIRST, "Push image", "Run migration"]
    assert orders_of_the_others(active, "customer-a") == only_templates(expected_templates)
    customs = CustomerStep.objects.filter(release=active.release, is_custom=True)
    assert sorted(customs.values_list("name", flat=True)) == ["Push image", "Tag image"]
