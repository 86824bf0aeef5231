"""Roles (issue 4, item 1): the Viewer, Operator and Release manager groups the migration creates, the check every
service makes before it changes anything, the 403 answer (a page, or for htmx the message out of band), every POST
endpoint as each role, the buttons each role sees, the real user on every record, and seed_demo's user per role."""

import importlib
import io
import json
import re
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.permissions import (
    ALLOWED_ACTIONS,
    CHANGE_CUSTOMER_STEP,
    EXECUTE_STEPS,
    OPERATOR,
    PERMISSION_REFUSED,
    RELEASE_MANAGER,
    ROLE_PERMISSIONS,
    VIEWER,
)
from accounts.views import ASK_A_RELEASE_MANAGER
from clusters.models import Cluster
from clusters.services import cluster_create, cluster_delete, cluster_restore, cluster_update
from customers.models import Customer
from customers.services import customer_create, customer_delete, customer_restore, customer_update
from dashboard.management.commands.seed_demo import DEMO_PASSWORD, DEMO_RELEASE, DEMO_ROLE_USERS, DEMO_USER_TAKEN
from history.choices import EventAction
from history.models import Event
from releases.choices import ReleaseStatus
from releases.models import Enrollment, Release
from releases.services import (
    release_activate,
    release_add_customers,
    release_archive,
    release_clone,
    release_create,
    release_update,
)
from steps.choices import StepStatus
from steps.models import CustomerStep, StepTemplate
from steps.services import (
    customer_step_add_custom,
    customer_step_edit_custom,
    customer_step_mark_done,
    customer_step_override,
    customer_step_remove_custom,
    customer_step_reopen,
    customer_step_reset_to_template,
    customer_step_revert,
    customer_step_skip,
    customer_step_update_notes,
    customer_steps_bulk_transition,
    customer_steps_mark_all_done,
    template_step_add,
    template_step_delete,
    template_step_update,
    template_steps_reorder,
)
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# The apps whose screens the roles govern; login, logout, the admin and the health check are outside them.
ROLE_NAMESPACES = {"dashboard", "clusters", "customers", "releases", "steps", "history"}


@pytest.fixture
def scene(world):
    """The example world with v2.5.0 active and its first step in every state (pending for customer-a, done for
    customer-b, skipped for customer-c, overridden for customer-d), a custom step, a draft release, a cluster
    without customers and an active customer not yet in v2.5.0."""
    rm = world.user
    release_activate(release=world.release, user=rm)

    def first_step(customer: str) -> CustomerStep:
        return CustomerStep.objects.get(customer=world.customers[customer], template=world.templates[0])

    customer_step_mark_done(step=first_step("customer-b"), user=rm)
    customer_step_skip(step=first_step("customer-c"), user=rm, reason="done by hand")
    customer_step_override(step=first_step("customer-d"), user=rm, content="echo mine")
    custom = customer_step_add_custom(
        release=world.release,
        customer=world.customers["customer-a"],
        user=rm,
        name="Warm cache",
        category="deploy",
        type="bash",
        content="echo warm",
    )
    draft = ReleaseFactory(name="v2.6.0")
    return SimpleNamespace(
        **vars(world),
        pending=first_step("customer-a"),
        done=first_step("customer-b"),
        skipped=first_step("customer-c"),
        overridden=first_step("customer-d"),
        custom=custom,
        draft=draft,
        draft_templates=[
            StepTemplateFactory(release=draft, name="Migrate", order_index=0),
            StepTemplateFactory(release=draft, name="Restart", order_index=1),
        ],
        spare=ClusterFactory(name="spare"),
        late=CustomerFactory(cluster=world.clusters["staging"], name="late-customer", namespace="late"),
    )


def state() -> list:
    """Every row the application writes, deleted ones included: equal before and after means nothing changed."""
    return [
        list(queryset.order_by("pk").values())
        for queryset in (
            Cluster.all_objects.all(),
            Customer.all_objects.all(),
            Release.objects.all(),
            Enrollment.objects.all(),
            StepTemplate.all_objects.all(),
            CustomerStep.all_objects.all(),
            Event.objects.all(),
        )
    ]


def _html(response) -> str:
    return response.content.decode()


# --- the groups ---------------------------------------------------------------------------------------------------


def _perms(group: Group) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_the_migration_creates_the_three_roles_with_exactly_their_permissions():
    groups = {group.name: group for group in Group.objects.filter(name__in=ROLE_PERMISSIONS)}

    assert set(groups) == {VIEWER, OPERATOR, RELEASE_MANAGER}
    for role, perms in ROLE_PERMISSIONS.items():
        assert _perms(groups[role]) == set(perms), role
    assert all(perm.split(".")[1].startswith("view_") for perm in ROLE_PERMISSIONS[VIEWER])
    assert set(ROLE_PERMISSIONS[OPERATOR]) - set(ROLE_PERMISSIONS[VIEWER]) == {EXECUTE_STEPS}
    assert set(ROLE_PERMISSIONS[VIEWER]) < set(ROLE_PERMISSIONS[OPERATOR]) < set(ROLE_PERMISSIONS[RELEASE_MANAGER])


def test_the_custom_permission_to_carry_out_steps_exists():
    group = Group.objects.get(name=OPERATOR)

    permission = group.permissions.get(codename="execute_customerstep")

    assert (permission.content_type.app_label, permission.name) == ("steps", "Can carry out customer steps")


def test_reversing_the_migration_removes_the_groups(viewer):
    roles = importlib.import_module("accounts.migrations.0001_roles")

    roles.remove_roles(django_apps, SimpleNamespace(connection=connection))

    assert not Group.objects.filter(name__in=ROLE_PERMISSIONS).exists()
    assert not viewer.groups.exists()


# --- the services -------------------------------------------------------------------------------------------------

# Every service that changes something, called on the scene: (name, call(scene, user)).
SERVICES = [
    ("cluster_create", lambda s, u: cluster_create(user=u, name="prod-ap")),
    ("cluster_update", lambda s, u: cluster_update(cluster=s.spare, user=u, description="spare")),
    ("cluster_delete", lambda s, u: cluster_delete(cluster=s.spare, user=u)),
    ("cluster_restore", lambda s, u: cluster_restore(cluster=s.spare, user=u)),
    ("customer_create", lambda s, u: customer_create(user=u, cluster=s.spare, name="new", namespace="new")),
    ("customer_update", lambda s, u: customer_update(customer=s.late, user=u, description="late")),
    ("customer_delete", lambda s, u: customer_delete(customer=s.late, user=u)),
    ("customer_restore", lambda s, u: customer_restore(customer=s.late, user=u)),
    ("release_create", lambda s, u: release_create(user=u, name="Hotfix", type="hotfix")),
    ("release_update", lambda s, u: release_update(release=s.draft, user=u, description="next")),
    ("release_activate", lambda s, u: release_activate(release=s.draft, user=u)),
    ("release_add_customers", lambda s, u: release_add_customers(release=s.release, customers=[s.late], user=u)),
    ("release_clone", lambda s, u: release_clone(release=s.release, user=u)),
    ("release_archive", lambda s, u: release_archive(release=s.release, user=u)),
    (
        "template_step_add",
        lambda s, u: template_step_add(
            release=s.draft, user=u, name="Check", category="verify", type="bash", content="x"
        ),
    ),
    ("template_step_update", lambda s, u: template_step_update(template_step=s.templates[0], user=u, content="new")),
    ("template_step_delete", lambda s, u: template_step_delete(template_step=s.templates[1], user=u)),
    (
        "template_steps_reorder",
        lambda s, u: template_steps_reorder(
            release=s.draft, category="deploy", ordered_ids=[t.pk for t in reversed(s.draft_templates)], user=u
        ),
    ),
    ("customer_step_override", lambda s, u: customer_step_override(step=s.pending, user=u, content="echo own")),
    ("customer_step_reset_to_template", lambda s, u: customer_step_reset_to_template(step=s.overridden, user=u)),
    (
        "customer_step_add_custom",
        lambda s, u: customer_step_add_custom(
            release=s.release,
            customer=s.customers["customer-e"],
            user=u,
            name="X",
            category="deploy",
            type="bash",
            content="x",
        ),
    ),
    ("customer_step_edit_custom", lambda s, u: customer_step_edit_custom(step=s.custom, user=u, content="echo x")),
    ("customer_step_remove_custom", lambda s, u: customer_step_remove_custom(step=s.custom, user=u)),
    ("customer_step_mark_done", lambda s, u: customer_step_mark_done(step=s.pending, user=u)),
    ("customer_step_skip", lambda s, u: customer_step_skip(step=s.pending, user=u, reason="not here")),
    ("customer_step_revert", lambda s, u: customer_step_revert(step=s.done, user=u)),
    ("customer_step_reopen", lambda s, u: customer_step_reopen(step=s.skipped, user=u)),
    ("customer_step_update_notes", lambda s, u: customer_step_update_notes(step=s.pending, user=u, notes="later")),
    (
        "customer_steps_mark_all_done",
        lambda s, u: customer_steps_mark_all_done(
            release=s.release, customer=s.customers["customer-e"], category="deploy", user=u
        ),
    ),
    (
        "customer_steps_bulk_transition",
        lambda s, u: customer_steps_bulk_transition(
            release=s.release, steps_with_versions={s.pending.pk: None}, action="mark_done", user=u
        ),
    ),
]
EXECUTION_SERVICES = {
    "customer_step_mark_done",
    "customer_step_skip",
    "customer_step_revert",
    "customer_step_reopen",
    "customer_step_update_notes",
    "customer_steps_mark_all_done",
    "customer_steps_bulk_transition",
}
SERVICE_IDS = [name for name, _ in SERVICES]


def _prepare(scene, name: str) -> None:
    """What a service needs first: restoring needs something deleted."""
    if name == "cluster_restore":
        cluster_delete(cluster=scene.spare, user=scene.user)
    elif name == "customer_restore":
        customer_delete(customer=scene.late, user=scene.user)


@pytest.mark.parametrize(("name", "call"), SERVICES, ids=SERVICE_IDS)
def test_a_viewer_calling_any_service_is_refused_and_nothing_is_written(scene, viewer, name, call):
    _prepare(scene, name)
    before = state()

    with pytest.raises(PermissionDenied) as refused:
        call(scene, viewer)

    assert str(refused.value).startswith("You (vi) may not ")
    assert str(refused.value).endswith(": your role does not allow it.")
    assert state() == before


@pytest.mark.parametrize(("name", "call"), SERVICES, ids=SERVICE_IDS)
def test_an_operator_may_call_only_the_execution_services(scene, operator, name, call):
    _prepare(scene, name)
    before = state()

    if name in EXECUTION_SERVICES:
        call(scene, operator)
        assert state() != before
        assert Event.objects.order_by("-pk").first().actor == operator
    else:
        with pytest.raises(PermissionDenied):
            call(scene, operator)
        assert state() == before


@pytest.mark.parametrize(("name", "call"), SERVICES, ids=SERVICE_IDS)
def test_a_release_manager_may_call_every_service(scene, name, call):
    _prepare(scene, name)
    before = state()

    call(scene, scene.user)

    assert state() != before
    assert Event.objects.order_by("-pk").first().actor == scene.user


def test_the_system_acting_without_a_user_is_not_refused(scene):
    release_archive(release=scene.release, user=None)

    scene.release.refresh_from_db()
    assert scene.release.status == ReleaseStatus.ARCHIVED
    assert Event.objects.order_by("-pk").first().actor is None


def test_the_refusal_names_the_user_and_what_the_role_does_not_allow(scene, viewer):
    with pytest.raises(PermissionDenied) as refused:
        customer_step_override(step=scene.pending, user=viewer, content="echo own")

    assert str(refused.value) == PERMISSION_REFUSED.format(user="vi", what=ALLOWED_ACTIONS[CHANGE_CUSTOMER_STEP])


# --- every POST endpoint, as each role ----------------------------------------------------------------------------


def _form(**fields) -> dict:
    return {key: value for key, value in fields.items() if value is not None}


def _eligible(scene) -> list[int]:
    """Every customer checked in the activation dialog: all of them are active in active clusters."""
    return [*(customer.pk for customer in scene.customers.values()), scene.late.pk]


# Every POST endpoint with a request a release manager makes successfully: name → (URL arguments, data).
POST_ENDPOINTS = {
    "clusters:cluster_create": (
        lambda s: [],
        lambda s: _form(name="prod-ap", kubeconfig_path="", description="", is_active="on", metadata="{}"),
    ),
    "clusters:cluster_edit": (
        lambda s: [s.spare.pk],
        lambda s: _form(name="spare", kubeconfig_path="", description="for tests", is_active="on", metadata="{}"),
    ),
    "clusters:cluster_delete": (lambda s: [s.spare.pk], lambda s: {}),
    "customers:customer_create": (
        lambda s: [],
        lambda s: _form(cluster=s.spare.pk, name="new", namespace="new", description="", is_active="on", metadata="{}"),
    ),
    "customers:customer_edit": (
        lambda s: [s.late.pk],
        lambda s: _form(
            cluster=s.late.cluster_id,
            name="late-customer",
            namespace="late",
            description="joins later",
            is_active="on",
            metadata="{}",
        ),
    ),
    "customers:customer_delete": (lambda s: [s.late.pk], lambda s: {}),
    "releases:release_create": (
        lambda s: [],
        lambda s: _form(name="Hotfix 2.5.1", type="hotfix", version_number="", release_date="", description=""),
    ),
    "releases:release_edit": (
        lambda s: [s.draft.pk],
        lambda s: _form(
            name="v2.6.0", type="release", version_number="v2.6.0", release_date="2030-01-01", description="next"
        ),
    ),
    "releases:release_activate": (lambda s: [s.draft.pk], lambda s: {"customers": _eligible(s)}),
    "releases:release_add_customers": (lambda s: [s.release.pk], lambda s: {"customers": [s.late.pk]}),
    "releases:release_clone": (lambda s: [s.release.pk], lambda s: {}),
    "releases:release_import": (
        lambda s: [],
        lambda s: {"definition": SimpleUploadedFile("v2.7.0.yaml", b"name: v2.7.0\ntype: hotfix\n")},
    ),
    "releases:release_archive": (lambda s: [s.release.pk], lambda s: {}),
    "releases:template_step_create": (
        lambda s: [s.draft.pk],
        lambda s: _form(name="Check", category="verify", type="bash", content="echo ok", description=""),
    ),
    "releases:template_step_edit": (
        lambda s: [s.templates[0].pk],
        lambda s: _form(name="Deploy app", category="deploy", type="bash", content="echo new", description=""),
    ),
    "releases:template_step_delete": (lambda s: [s.templates[1].pk], lambda s: {}),
    "releases:template_steps_reorder": (
        lambda s: [s.draft.pk, "deploy"],
        lambda s: {"order": [t.pk for t in reversed(s.draft_templates)]},
    ),
    "steps:step_done": (lambda s: [s.pending.pk], lambda s: {"notes": "ran it"}),
    "steps:step_skip": (lambda s: [s.pending.pk], lambda s: {"reason": "not here"}),
    "steps:step_revert": (lambda s: [s.done.pk], lambda s: {"notes": ""}),
    "steps:step_reopen": (lambda s: [s.skipped.pk], lambda s: {}),
    "steps:step_notes": (lambda s: [s.pending.pk], lambda s: {"notes": "later"}),
    "steps:step_override": (lambda s: [s.pending.pk], lambda s: {"content": "echo own"}),
    "steps:step_reset": (lambda s: [s.overridden.pk], lambda s: {}),
    "steps:step_edit": (
        lambda s: [s.custom.pk],
        lambda s: _form(name="Warm cache", type="bash", content="echo warmer", description=""),
    ),
    "steps:step_remove": (lambda s: [s.custom.pk], lambda s: {}),
    "steps:mark_all": (lambda s: [s.release.pk, s.customers["customer-e"].pk, "deploy"], lambda s: {}),
    "steps:bulk_action": (
        lambda s: [s.release.pk],
        lambda s: {"action": "mark_done", "steps": [f"{s.pending.pk}:{s.pending.version}"]},
    ),
    "steps:custom_step_add": (
        lambda s: [s.release.pk, s.customers["customer-e"].pk],
        lambda s: _form(name="Flush cache", category="deploy", type="bash", content="echo flush", description=""),
    ),
}
OPERATOR_ENDPOINTS = {
    "steps:step_done",
    "steps:step_skip",
    "steps:step_revert",
    "steps:step_reopen",
    "steps:step_notes",
    "steps:mark_all",
    "steps:bulk_action",
}


def _url_names(resolver=None, namespace: str = "") -> set[str]:
    """Every named URL of the role-governed apps, as namespace:name."""
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            if inner in ROLE_NAMESPACES:
                names |= _url_names(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name and namespace:
            names.add(f"{namespace}:{pattern.name}")
    return names


def _post(client, name: str, scene):
    arguments, data = POST_ENDPOINTS[name]
    return client.post(reverse(name, args=arguments(scene)), data(scene))


def test_every_url_that_takes_a_post_is_in_the_list(client, scene, viewer):
    """Each named URL of the app answers a viewer's POST with 405 (it only reads) unless it is in POST_ENDPOINTS."""
    client.force_login(viewer)
    read_only = set()
    for name in sorted(_url_names() - set(POST_ENDPOINTS)):
        if client.post(reverse(name, args=_read_only_arguments(name, scene))).status_code == 405:
            read_only.add(name)
    assert read_only == _url_names() - set(POST_ENDPOINTS)
    assert set(POST_ENDPOINTS) <= _url_names()


def _read_only_arguments(name: str, scene) -> list:
    """URL arguments for the screens that only read."""
    return {
        "clusters:cluster_detail": [scene.spare.pk],
        "customers:customer_detail": [scene.late.pk],
        "releases:release_detail": [scene.release.pk],
        "releases:release_definition": [scene.release.pk],
        "steps:matrix": [scene.release.pk],
        "steps:live_changes": [scene.release.pk],
        "steps:customer_steps": [scene.release.pk, scene.customers["customer-a"].pk],
        "steps:template_step_status": [scene.templates[0].pk],
        "steps:step_detail": [scene.pending.pk],
        "steps:step_download": [scene.pending.pk],
    }.get(name, [])


@pytest.mark.parametrize("name", sorted(POST_ENDPOINTS))
def test_a_viewer_gets_403_from_every_post_endpoint_and_nothing_changes(client, scene, viewer, name):
    client.force_login(viewer)
    before = state()

    response = _post(client, name, scene)

    assert response.status_code == 403
    assert "You (vi) may not " in _html(response)
    assert state() == before


@pytest.mark.parametrize("name", sorted(POST_ENDPOINTS))
def test_an_operator_carries_out_steps_and_gets_403_for_everything_else(client, scene, operator, name):
    client.force_login(operator)
    before = state()

    response = _post(client, name, scene)

    if name in OPERATOR_ENDPOINTS:
        assert response.status_code == 302, _html(response)
        assert state() != before
    else:
        assert response.status_code == 403
        assert "You (op) may not " in _html(response)
        assert state() == before


@pytest.mark.parametrize("name", sorted(POST_ENDPOINTS))
def test_a_release_manager_may_post_to_every_endpoint(client, scene, name):
    client.force_login(scene.user)
    before = state()

    response = _post(client, name, scene)

    assert response.status_code == 302, _html(response)
    assert state() != before


def test_a_superuser_may_do_what_no_group_grants(client, scene, django_user_model):
    admin = django_user_model.objects.create_superuser(username="root", password="rollcall-test-pw")
    client.force_login(admin)

    response = _post(client, "steps:step_override", scene)

    assert response.status_code == 302
    scene.pending.refresh_from_db()
    assert (scene.pending.content, scene.pending.is_overridden) == ("echo own", True)


# --- the 403 answer -----------------------------------------------------------------------------------------------


def test_the_403_page_says_what_was_refused_and_whom_to_ask(client, scene, viewer):
    client.force_login(viewer)

    response = _post(client, "clusters:cluster_delete", scene)

    html = _html(response)
    assert response.status_code == 403
    assert "You don't have permission to do this" in html
    assert PERMISSION_REFUSED.format(user="vi", what=ALLOWED_ACTIONS["clusters.delete_cluster"]) in html
    assert ASK_A_RELEASE_MANAGER in html
    assert 'class="topbar"' in html  # the site's own layout, with its navigation


def test_an_htmx_403_swaps_only_the_message_out_of_band(client, scene, viewer):
    client.force_login(viewer)

    response = client.post(
        reverse("steps:step_done", args=[scene.pending.pk]), {"notes": ""}, **HTMX, HTTP_HX_TARGET="side-panel"
    )

    html = _html(response)
    assert response.status_code == 403
    assert response["HX-Reswap"] == "none"
    assert re.search(r'<div id="messages"[^>]*hx-swap-oob="true"', html)
    message = PERMISSION_REFUSED.format(user="vi", what=ALLOWED_ACTIONS[EXECUTE_STEPS])
    assert f"{message} {ASK_A_RELEASE_MANAGER}" in html
    assert 'role="alert"' in html
    assert "step-panel" not in html
    scene.pending.refresh_from_db()
    assert scene.pending.status == StepStatus.PENDING


def test_htmx_is_told_to_process_a_403_before_the_rule_that_ignores_errors(client, viewer):
    client.force_login(viewer)

    html = _html(client.get(reverse("dashboard:dashboard")))

    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html)[1])
    codes = [rule["code"] for rule in config["responseHandling"]]
    assert config["responseHandling"][codes.index("403")]["swap"] is True
    assert codes.index("403") < codes.index("[45]..")


# --- what each role sees ------------------------------------------------------------------------------------------


def _buttons(html: str) -> set[str]:
    """The labels of the buttons and button-like links of a page."""
    labels = re.findall(r"<(?:button|a|summary)\b[^>]*>([^<]+)</(?:button|a|summary)>", html)
    return {label.strip() for label in labels}


PANEL_ACTIONS = {"Mark as Done", "Save Notes", "Skip", "Override Content"}


def test_a_viewer_sees_the_step_panel_without_any_action(client, scene, viewer):
    client.force_login(viewer)

    html = _html(client.get(reverse("steps:step_detail", args=[scene.pending.pk]), **HTMX))

    assert not _buttons(html) & PANEL_ACTIONS
    assert "Read only: your role lets you see this step, not carry it out." in html
    assert {"📋 Copy", "⬇️ Download"} <= _buttons(html)


def test_an_operator_sees_the_execution_actions_but_not_the_override(client, scene, operator):
    client.force_login(operator)

    html = _html(client.get(reverse("steps:step_detail", args=[scene.pending.pk]), **HTMX))

    assert _buttons(html) & PANEL_ACTIONS == {"Mark as Done", "Save Notes", "Skip"}
    assert "Read only" not in html


def test_a_release_manager_sees_every_action_of_the_panel(client, scene):
    client.force_login(scene.user)

    html = _html(client.get(reverse("steps:step_detail", args=[scene.pending.pk]), **HTMX))

    assert _buttons(html) >= PANEL_ACTIONS


def test_the_operator_does_not_see_reset_nor_the_custom_step_edit_and_delete(client, scene, operator):
    client.force_login(operator)

    overridden = _html(client.get(reverse("steps:step_detail", args=[scene.overridden.pk]), **HTMX))
    custom = _html(client.get(reverse("steps:step_detail", args=[scene.custom.pk]), **HTMX))

    assert "Reset to Template" not in _buttons(overridden)
    assert "View Original" in _buttons(overridden)
    assert not _buttons(custom) & {"Edit", "Delete"}
    assert "Mark as Done" in _buttons(custom)


@pytest.mark.parametrize(
    ("role", "hidden", "shown"),
    [
        ("viewer", {"+ Add Custom Step", "Mark All", "Mark as Done", "Skip", "Override Content", "Delete"}, set()),
        ("operator", {"+ Add Custom Step", "Override Content", "Edit", "Delete"}, {"Mark All", "Mark as Done", "Skip"}),
    ],
)
def test_the_customer_view_offers_only_what_the_role_may_do(client, scene, request, role, hidden, shown):
    client.force_login(request.getfixturevalue(role))

    html = _html(client.get(reverse("steps:customer_steps", args=[scene.release.pk, scene.customers["customer-a"].pk])))

    assert not _buttons(html) & hidden
    assert _buttons(html) >= shown | {"View Content"}


def test_the_step_across_customers_offers_no_action_to_a_viewer(client, scene, viewer):
    client.force_login(viewer)

    html = _html(client.get(reverse("steps:template_step_status", args=[scene.templates[0].pk])))

    assert not _buttons(html) & {"Mark as Done", "Skip", "Revert", "Undo Skip"}
    assert "View Content" in _buttons(html)


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_the_release_screens_hide_the_release_managers_actions(client, scene, request, role):
    client.force_login(request.getfixturevalue(role))

    active = _html(client.get(reverse("releases:release_detail", args=[scene.release.pk])))
    draft = _html(client.get(reverse("releases:release_detail", args=[scene.draft.pk])))
    listing = _html(client.get(reverse("releases:release_list")))
    dashboard = _html(client.get(reverse("dashboard:dashboard")))

    assert not _buttons(active) & {"Add customers", "Clone", "Archive"}
    assert not _buttons(draft) & {"Activate", "Clone", "Edit", "+ Add Step", "Delete"}
    assert "drag-handle" not in draft and "data-sortable" not in draft
    assert "Matrix" in _buttons(active)
    assert "+ Release" not in _buttons(listing) | _buttons(dashboard)


def test_a_release_manager_sees_the_release_actions(client, scene):
    client.force_login(scene.user)

    draft = _html(client.get(reverse("releases:release_detail", args=[scene.draft.pk])))

    assert _buttons(draft) >= {"Activate", "Clone", "Edit", "+ Add Step", "Delete"}
    assert "data-sortable" in draft


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_the_cluster_and_customer_screens_hide_every_change(client, scene, request, role):
    client.force_login(request.getfixturevalue(role))
    customer = scene.customers["customer-a"]

    pages = [
        _html(client.get(reverse("clusters:cluster_list"))),
        _html(client.get(reverse("clusters:cluster_detail", args=[scene.spare.pk]))),
        _html(client.get(reverse("customers:customer_list"))),
        _html(client.get(reverse("customers:customer_detail", args=[customer.pk]))),
    ]

    for html in pages:
        assert not _buttons(html) & {"+ Cluster", "+ Add", "Edit", "Archive", "Add a customer"}
        assert "cluster_delete" not in html and "/delete/" not in html


def test_a_release_manager_sees_the_cluster_and_customer_actions(client, scene):
    client.force_login(scene.user)

    clusters = _html(client.get(reverse("clusters:cluster_list")))
    customer = _html(client.get(reverse("customers:customer_detail", args=[scene.customers["customer-a"].pk])))

    assert _buttons(clusters) >= {"+ Cluster", "Edit"}
    assert f"/clusters/{scene.spare.pk}/delete/" in clusters
    assert _buttons(customer) >= {"Edit", "Archive"}


# --- the record names who acted -----------------------------------------------------------------------------------


def test_executed_by_and_every_event_carry_the_user_who_acted(client, scene, operator):
    other = CustomerStep.objects.get(customer=scene.customers["customer-e"], template=scene.templates[0])
    first_new_event = Event.objects.order_by("-pk").first().pk + 1

    client.force_login(operator)
    client.post(reverse("steps:step_done", args=[scene.pending.pk]), {"notes": "ran it"}, **HTMX)
    client.post(reverse("steps:step_skip", args=[other.pk]), {"reason": "not here"}, **HTMX)
    client.force_login(scene.user)
    client.post(reverse("steps:step_reset", args=[scene.overridden.pk]), **HTMX)
    client.post(reverse("steps:step_edit", args=[scene.custom.pk]), _form(name="W", type="bash", content="x"), **HTMX)

    scene.pending.refresh_from_db()
    other.refresh_from_db()
    assert (scene.pending.executed_by, other.executed_by) == (operator, operator)
    events = Event.objects.filter(pk__gte=first_new_event).order_by("pk")
    assert [(event.action, event.actor, event.actor_name) for event in events] == [
        (EventAction.STEP_DONE, operator, "op"),
        (EventAction.STEP_SKIPPED, operator, "op"),
        (EventAction.STEP_RESET, scene.user, "rm"),
        (EventAction.STEP_CUSTOM_EDITED, scene.user, "rm"),
    ]


# --- seed_demo's users --------------------------------------------------------------------------------------------


def test_seed_demo_creates_one_user_per_role_with_the_demo_password():
    call_command("seed_demo", stdout=io.StringIO())

    for username, role in DEMO_ROLE_USERS:
        user = authenticate(username=username, password=DEMO_PASSWORD)
        assert user is not None, username
        assert [group.name for group in user.groups.all()] == [role]
        assert not user.is_superuser and not user.is_staff
    assert {role for _, role in DEMO_ROLE_USERS} == set(ROLE_PERMISSIONS)


def test_seed_demo_refuses_when_a_role_user_name_is_taken(django_user_model):
    django_user_model.objects.create_user(username="operator", password="someone-elses-pw")

    with pytest.raises(CommandError) as refused:
        call_command("seed_demo", stdout=io.StringIO())

    assert str(refused.value) == DEMO_USER_TAKEN.format(username="operator", release=DEMO_RELEASE)
    assert not Release.objects.exists()
    assert list(django_user_model.objects.values_list("username", flat=True)) == ["operator"]
