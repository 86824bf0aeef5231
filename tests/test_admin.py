"""The admin: every model's pages open, and data fixed by hand goes through the services — their rules, their
messages (next to the field, never a server error), their soft delete and their history."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from clusters.models import Cluster
from clusters.services import CLUSTER_HAS_ACTIVE_CUSTOMERS, CLUSTER_NAME_TAKEN, cluster_create, cluster_delete
from customers.models import Customer
from customers.services import NAMESPACE_TAKEN
from history.choices import EventAction
from history.models import Event
from releases.choices import ReleaseStatus
from releases.models import Release
from releases.services import TRANSITION_REFUSED, release_activate
from steps.choices import StepStatus
from steps.models import CustomerStep, StepTemplate
from steps.services import customer_step_mark_done
from steps.services.rules import CONTENT_LOCKED
from tests.factories import ClusterFactory

pytestmark = pytest.mark.django_db


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def _action(model, action: str, *objects) -> tuple[str, dict]:
    """The POST a browser sends for an admin action without a confirmation page."""
    return _url(model, "changelist"), {"action": action, "_selected_action": [o.pk for o in objects], "index": 0}


def _cluster_form(**fields) -> dict:
    return {"name": "", "kubeconfig_path": "", "description": "", "is_active": "on", "metadata": "{}", **fields}


@pytest.fixture
def activated(world):
    """The example world with its release activated for every customer: 6 customers, 3 template steps each."""
    release_activate(release=world.release, user=world.user)
    return world


def _step(world, customer: str, template_index: int = 0) -> CustomerStep:
    return CustomerStep.objects.get(customer=world.customers[customer], template=world.templates[template_index])


def _every_model(world) -> dict:
    """One object of every model, deleted cluster included, with history for each."""
    gone = cluster_create(user=world.user, name="decommissioned")
    cluster_delete(cluster=gone, user=world.user)
    return {
        "cluster": world.clusters["prod-us"],
        "deleted cluster": gone,
        "customer": world.customers["customer-a"],
        "release": world.release,
        "template step": world.templates[0],
        "customer step": _step(world, "customer-a"),
        "event": Event.objects.first(),
    }


@pytest.mark.parametrize(
    "name", ["cluster", "deleted cluster", "customer", "release", "template step", "customer step", "event"]
)
def test_every_model_has_a_list_and_a_page(admin_client, activated, name):
    obj = _every_model(activated)[name]
    assert admin_client.get(_url(type(obj), "changelist")).status_code == 200
    response = admin_client.get(_url(type(obj), "change", obj.pk))
    assert response.status_code == 200
    assert str(obj) in response.content.decode()


@pytest.mark.parametrize("model", [Cluster, Customer, Release, StepTemplate])
def test_add_pages_open(admin_client, world, model):
    assert admin_client.get(_url(model, "add")).status_code == 200


def test_release_page_lists_its_template_steps(admin_client, world):
    page = admin_client.get(_url(Release, "change", world.release.pk)).content.decode()
    for template in world.templates:
        assert f'href="{template.get_absolute_url()}"' in page


def test_lists_do_not_query_per_row(admin_client, activated, django_assert_max_num_queries):
    """A list costs the same few queries whatever it shows (18 customer steps, 6 customers, 3 clusters…)."""
    for model in (CustomerStep, Customer, Cluster, StepTemplate, Release, Event):
        with django_assert_max_num_queries(7):
            assert admin_client.get(_url(model, "changelist")).status_code == 200


# --- clusters and customers -------------------------------------------------------------------------------------


def test_fc_001_admin_add_creates_cluster_with_history(admin_client, admin_user):
    response = admin_client.post(
        _url(Cluster, "add"), _cluster_form(name=" prod-ap ", metadata='{"region": "ap-south-1"}')
    )
    assert response.status_code == 302
    cluster = Cluster.objects.get()
    assert (cluster.name, cluster.region) == ("prod-ap", "ap-south-1")
    event = Event.objects.get(cluster=cluster)
    assert (event.action, event.actor, event.after["name"]) == (EventAction.CLUSTER_CREATED, admin_user, "prod-ap")


def test_fc_002_admin_edit_records_before_and_after(admin_client, world):
    cluster = world.clusters["staging"]
    form = _cluster_form(name="staging", kubeconfig_path=cluster.kubeconfig_path, description="Demo only")
    form["metadata"] = '{"region": "internal"}'
    assert admin_client.post(_url(Cluster, "change", cluster.pk), form).status_code == 302
    event = Event.objects.get(cluster=cluster, action=EventAction.CLUSTER_UPDATED)
    assert (event.before, event.after) == ({"description": ""}, {"description": "Demo only"})


def test_br_c02_admin_shows_duplicate_name_next_to_field_and_creates_nothing(admin_client, world):
    counts = (Cluster.all_objects.count(), Event.objects.count())
    response = admin_client.post(_url(Cluster, "add"), _cluster_form(name="PROD-US"))
    assert response.status_code == 200
    assert _form_errors(response)["name"] == [CLUSTER_NAME_TAKEN.format(name="PROD-US")]
    assert (Cluster.all_objects.count(), Event.objects.count()) == counts


def test_br_c01_admin_delete_refused_while_cluster_has_active_customers(admin_client, world):
    cluster = world.clusters["prod-us"]
    counts = (Event.objects.count(), LogEntry.objects.count())
    response = admin_client.post(_url(Cluster, "delete", cluster.pk), {"post": "yes"})
    assert response.status_code == 302
    assert response.url == _url(Cluster, "change", cluster.pk)
    assert _messages(response) == [CLUSTER_HAS_ACTIVE_CUSTOMERS.format(name="prod-us", count=3)]
    cluster.refresh_from_db()
    assert cluster.deleted_at is None
    assert (Event.objects.count(), LogEntry.objects.count()) == counts


def test_fc_003_admin_delete_soft_deletes_cluster_without_customers(admin_client, user):
    cluster = cluster_create(user=user, name="empty")  # its history points at it: a hard delete would be blocked
    confirmation = admin_client.get(_url(Cluster, "delete", cluster.pk))
    assert confirmation.status_code == 200
    assert not confirmation.context["protected"]
    response = admin_client.post(_url(Cluster, "delete", cluster.pk), {"post": "yes"})
    assert response.status_code == 302
    cluster = Cluster.all_objects.get(pk=cluster.pk)
    assert cluster.deleted_at is not None
    assert not Cluster.objects.filter(pk=cluster.pk).exists()
    assert Event.objects.filter(cluster=cluster, action=EventAction.CLUSTER_DELETED).exists()


def test_br_c01_admin_bulk_delete_is_all_or_nothing(admin_client, world):
    empty = ClusterFactory(name="empty")
    busy = world.clusters["prod-eu"]
    events = Event.objects.count()
    url = _url(Cluster, "changelist")
    response = admin_client.post(
        url, {"action": "delete_selected", "_selected_action": [empty.pk, busy.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert _messages(response) == [CLUSTER_HAS_ACTIVE_CUSTOMERS.format(name="prod-eu", count=2)]
    assert Cluster.all_objects.filter(deleted_at__isnull=False).count() == 0
    assert Event.objects.count() == events

    admin_client.post(url, {"action": "delete_selected", "_selected_action": [empty.pk], "post": "yes"})
    assert Cluster.all_objects.get(pk=empty.pk).is_deleted


def test_admin_restore_action_restores_cluster(admin_client, user):
    cluster = cluster_delete(cluster=cluster_create(user=user, name="prod-old"), user=user)
    response = admin_client.post(*_action(Cluster, "restore_selected", cluster))
    assert _messages(response) == ["Restored: prod-old."]
    assert Cluster.objects.filter(pk=cluster.pk).exists()
    assert Event.objects.filter(cluster=cluster, action=EventAction.CLUSTER_RESTORED).exists()


def test_deleted_rows_are_listed_with_a_filter_and_read_only(admin_client, user):
    cluster_create(user=user, name="alive")
    gone = cluster_delete(cluster=cluster_create(user=user, name="gone"), user=user)
    url = _url(Cluster, "changelist")
    listed = {
        deleted: {
            c.name for c in admin_client.get(url, {"deleted": deleted} if deleted else {}).context["cl"].result_list
        }
        for deleted in ("", "yes", "no")
    }
    assert listed == {"": {"alive", "gone"}, "yes": {"gone"}, "no": {"alive"}}
    assert admin_client.post(_url(Cluster, "change", gone.pk), _cluster_form(name="back")).status_code == 403
    assert Cluster.all_objects.get(pk=gone.pk).name == "gone"


def test_br_m01_admin_shows_taken_namespace_next_to_field(admin_client, world):
    prod_us = world.clusters["prod-us"]
    counts = (Customer.all_objects.count(), Event.objects.count())
    form = {"cluster": prod_us.pk, "name": "customer-z", "namespace": "cust-a-prod", "description": "", "metadata": ""}
    response = admin_client.post(_url(Customer, "add"), form)
    assert _form_errors(response)["namespace"] == [
        NAMESPACE_TAKEN.format(namespace="cust-a-prod", cluster="prod-us", other="customer-a")
    ]
    assert (Customer.all_objects.count(), Event.objects.count()) == counts


def test_fm_003_admin_delete_archives_customer(admin_client, world):
    customer = world.customers["customer-e"]
    assert admin_client.post(_url(Customer, "delete", customer.pk), {"post": "yes"}).status_code == 302
    assert Customer.all_objects.get(pk=customer.pk).is_deleted
    assert Event.objects.filter(customer=customer, action=EventAction.CUSTOMER_DELETED).exists()


# --- releases ---------------------------------------------------------------------------------------------------


def test_fr_001_admin_release_of_type_release_needs_a_version(admin_client, user):
    form = {"name": "Spring", "type": "release", "version_number": "", "release_date": "", "description": ""}
    response = admin_client.post(_url(Release, "add"), {**form, "metadata": "{}"})
    assert response.status_code == 200
    assert "needs a version number" in str(_form_errors(response))
    assert not Release.objects.exists()


def test_fr_003_admin_activate_action_creates_steps_for_all_customers(admin_client, admin_user, world):
    response = admin_client.post(*_action(Release, "activate", world.release))
    assert _messages(response) == ["Activated: v2.5.0."]
    world.release.refresh_from_db()
    assert world.release.status == ReleaseStatus.ACTIVE
    assert CustomerStep.objects.filter(release=world.release).count() == 6 * 3
    event = Event.objects.get(release=world.release, action=EventAction.RELEASE_ACTIVATED)
    assert event.actor == admin_user


def test_fr_002_admin_activate_action_refuses_active_release(admin_client, activated):
    events = Event.objects.count()
    response = admin_client.post(*_action(Release, "activate", activated.release))
    assert _messages(response) == [TRANSITION_REFUSED.format(name="v2.5.0", status="active", verb="activate")]
    assert Event.objects.count() == events


def test_fr_004_fr_005_admin_clone_and_archive_actions(admin_client, activated):
    admin_client.post(*_action(Release, "clone", activated.release))
    clone = Release.objects.get(cloned_from=activated.release)
    assert (clone.status, clone.template_steps.count()) == (ReleaseStatus.DRAFT, 3)
    admin_client.post(*_action(Release, "archive", activated.release))
    activated.release.refresh_from_db()
    assert activated.release.status == ReleaseStatus.ARCHIVED


def test_release_cannot_be_deleted_in_admin(admin_client, world):
    assert admin_client.get(_url(Release, "delete", world.release.pk)).status_code == 403
    assert "delete_selected" not in admin_client.get(_url(Release, "changelist")).content.decode()
    assert Release.objects.filter(pk=world.release.pk).exists()


# --- template steps and customer steps --------------------------------------------------------------------------


def test_br_r02_admin_template_edit_reaches_only_pending_steps(admin_client, activated):
    done = customer_step_mark_done(step=_step(activated, "customer-a"), user=activated.user)
    template = activated.templates[0]
    form = {"name": template.name, "category": "deploy", "type": "bash", "content": "helm upgrade", "description": ""}
    assert admin_client.post(_url(StepTemplate, "change", template.pk), form).status_code == 302
    contents = dict(CustomerStep.objects.filter(template=template).values_list("customer__name", "content"))
    assert contents.pop("customer-a") == done.content
    assert set(contents.values()) == {"helm upgrade"}


def test_fs_004_admin_delete_template_step_is_soft(admin_client, activated):
    template = activated.templates[1]
    assert admin_client.post(_url(StepTemplate, "delete", template.pk), {"post": "yes"}).status_code == 302
    assert StepTemplate.all_objects.get(pk=template.pk).is_deleted
    assert not CustomerStep.objects.filter(template=template).exists()
    assert Event.objects.filter(template_step=template, action=EventAction.TEMPLATE_STEP_DELETED).exists()


def test_br_r03_admin_refuses_content_change_of_done_step(admin_client, activated):
    step = customer_step_mark_done(step=_step(activated, "customer-b"), user=activated.user)
    events = Event.objects.count()
    response = admin_client.post(_url(CustomerStep, "change", step.pk), {"content": "echo changed", "notes": ""})
    assert response.status_code == 200
    assert _form_errors(response)["content"] == [CONTENT_LOCKED.format(step="Deploy app", customer="customer-b")]
    step.refresh_from_db()
    assert (step.content, step.is_overridden, step.status) == ("echo 'Deploy app'", False, StepStatus.DONE)
    assert Event.objects.count() == events


def test_admin_notes_change_on_done_step_keeps_content_sent_back_by_browser(admin_client, world):
    script = "set -e\nkubectl rollout restart deploy/app\n"
    StepTemplate.objects.filter(pk=world.templates[0].pk).update(content=script)
    release_activate(release=world.release, user=world.user)
    step = customer_step_mark_done(step=_step(world, "customer-c"), user=world.user)
    browser_form = {"content": script.replace("\n", "\r\n"), "notes": "Restarted by hand"}
    assert admin_client.post(_url(CustomerStep, "change", step.pk), browser_form).status_code == 302
    step.refresh_from_db()
    assert (step.content, step.notes, step.is_overridden) == (script, "Restarted by hand", False)
    assert list(Event.objects.filter(customer_step=step).values_list("action", flat=True)[:2]) == [
        EventAction.STEP_NOTES_CHANGED,
        EventAction.STEP_DONE,
    ]


def test_fcs_002_admin_content_change_overrides_template_step(admin_client, activated):
    step = _step(activated, "customer-d")
    form = {"content": "echo 'Deploy app' --canary", "notes": ""}
    assert admin_client.post(_url(CustomerStep, "change", step.pk), form).status_code == 302
    step.refresh_from_db()
    assert (step.content, step.is_overridden, step.template) == (form["content"], True, activated.templates[0])
    assert Event.objects.filter(customer_step=step, action=EventAction.STEP_OVERRIDDEN).exists()


def test_customer_steps_cannot_be_added_or_deleted_in_admin(admin_client, activated):
    step = _step(activated, "customer-a")
    assert admin_client.get(_url(CustomerStep, "add")).status_code == 403
    assert admin_client.post(_url(CustomerStep, "delete", step.pk), {"post": "yes"}).status_code == 403
    assert CustomerStep.objects.filter(pk=step.pk).exists()


# --- history ----------------------------------------------------------------------------------------------------


def test_event_admin_is_read_only(admin_client, activated):
    event = Event.objects.first()
    before = (Event.objects.count(), event.object_repr)
    assert admin_client.get(_url(Event, "add")).status_code == 403
    assert admin_client.post(_url(Event, "add"), {"object_repr": "forged"}).status_code == 403
    assert admin_client.post(_url(Event, "change", event.pk), {"object_repr": "forged"}).status_code == 403
    assert admin_client.post(_url(Event, "delete", event.pk), {"post": "yes"}).status_code == 403
    response = admin_client.post(
        _url(Event, "changelist"), {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert response.status_code == 200  # no such action: the list is shown again
    event.refresh_from_db()
    assert (Event.objects.count(), event.object_repr) == before
