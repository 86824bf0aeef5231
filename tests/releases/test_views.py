"""The release screens with the test client: the list (FV-002), create and edit (FR-001), the release page and its
template step editor (FS-001..FS-004), the Activate and Add customers dialogs (FR-003), Clone (FR-004) and Archive
(FR-005) — their htmx fragments, their refusals and their query counts."""

import pytest
from django.test import Client
from django.urls import reverse

from history.choices import EventAction
from history.models import Event
from releases.choices import ReleaseStatus
from releases.models import Enrollment, Release
from releases.rules import RELEASE_ARCHIVED
from releases.services import (
    SELECTION_EMPTY,
    TRANSITION_REFUSED,
    VERSION_NUMBER_REQUIRED,
    release_activate,
    release_archive,
)
from steps.models import CustomerStep, StepTemplate
from steps.services import customer_step_mark_done, customer_step_override, customer_step_skip
from steps.services.rules import CONTENT_REQUIRED, REORDER_MISMATCH
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
DIALOG = {**HTMX, "HTTP_HX_TARGET": "dialog"}


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


def _state():
    """What a refused request must leave untouched."""
    return (
        list(Release.objects.order_by("pk").values_list("name", "status", "version_number", "covers_all_customers")),
        list(StepTemplate.all_objects.order_by("pk").values_list("name", "content", "order_index", "deleted_at")),
        list(CustomerStep.all_objects.order_by("pk").values_list("status", "content", "deleted_at")),
        Enrollment.objects.count(),
        Event.objects.count(),
    )


def _html(response) -> str:
    return response.content.decode()


def _in_order(html: str, *texts: str) -> bool:
    positions = [html.index(text) for text in texts]
    return positions == sorted(positions)


def _step(world, customer: str, template: int) -> CustomerStep:
    return CustomerStep.objects.get(customer=world.customers[customer], template=world.templates[template])


def _everyone(world) -> dict:
    """The activation dialog's POST with every customer checked."""
    ids = [customer.pk for customer in world.customers.values()]
    return {"customers": ids, "shown": ids}


# --- access -------------------------------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login_page(world):
    anonymous = Client()
    for url in (
        reverse("releases:release_list"),
        reverse("releases:release_create"),
        reverse("releases:release_detail", args=[world.release.pk]),
        reverse("releases:release_activate", args=[world.release.pk]),
    ):
        response = anonymous.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_unknown_release_is_not_found(client):
    assert client.get(reverse("releases:release_detail", args=[999])).status_code == 404
    assert client.post(reverse("releases:release_archive", args=[999])).status_code == 404


# --- the list (FV-002) --------------------------------------------------------------------------------------------


def test_fv_002_release_list_shows_type_status_version_date_progress_and_links(client, world):
    release_activate(release=world.release, user=world.user)
    for name in world.customers:
        customer_step_mark_done(step=_step(world, name, 0), user=world.user)
    hotfix = ReleaseFactory(name="Hotfix 7", type="hotfix", version_number="")
    archived = ReleaseFactory(name="v2.4.0", release_date="2026-01-15")
    release_activate(release=archived, user=world.user)
    release_archive(release=archived, user=world.user)

    response = client.get(reverse("releases:release_list"))

    assert response.status_code == 200
    html = _html(response)
    assert '<span class="badge type-release">Release</span>' in html
    assert '<span class="badge type-hotfix">Hotfix</span>' in html
    assert '<span class="badge status-active">Active</span>' in html
    assert '<span class="badge status-draft">Draft</span>' in html
    assert '<span class="badge status-archived">Archived</span>' in html
    assert "2026-01-15" in html
    assert "33%" in html  # one of three steps done by every customer
    active_row = html[html.index(f'id="release-{world.release.pk}"') :].split("</tr>")[0]
    assert reverse("steps:matrix", args=[world.release.pk]) in active_row
    assert reverse("releases:release_detail", args=[world.release.pk]) in active_row
    assert reverse("steps:matrix", args=[archived.pk]) in html
    draft_row = html[html.index(f'id="release-{hotfix.pk}"') :].split("</tr>")[0]
    assert "Matrix" not in draft_row
    assert "%" not in draft_row
    assert reverse("releases:release_create") in html


# --- create and edit (FR-001) -------------------------------------------------------------------------------------


def test_fr_001_create_release_opens_the_new_draft(client, user):
    response = client.post(
        reverse("releases:release_create"),
        {
            "name": "v2.5.0",
            "type": "release",
            "version_number": "v2.5.0",
            "release_date": "2026-03-01",
            "description": "Spring release",
        },
    )
    release = Release.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("releases:release_detail", args=[release.pk])
    assert (release.status, release.version_number, str(release.release_date)) == ("draft", "v2.5.0", "2026-03-01")
    assert Event.objects.get(release=release).action == EventAction.RELEASE_CREATED


def test_fr_001_release_without_version_number_is_refused_next_to_the_field(client, world):
    before = _state()
    response = client.post(reverse("releases:release_create"), {"name": "Spring", "type": "release"})
    assert response.status_code == 422
    assert response.context["form"].errors["version_number"] == [VERSION_NUMBER_REQUIRED]
    assert "needs a version number" in _html(response)
    assert _state() == before


def test_fr_001_hotfix_and_onboarding_need_no_version_number(client):
    for release_type in ("hotfix", "onboarding"):
        response = client.post(reverse("releases:release_create"), {"name": f"A {release_type}", "type": release_type})
        assert response.status_code == 302
    assert set(Release.objects.values_list("type", "version_number")) == {("hotfix", ""), ("onboarding", "")}


def test_fr_001_bad_input_gets_the_form_back(client):
    response = client.post(reverse("releases:release_create"), {"name": "", "type": "bigbang", "release_date": "x"})
    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"name", "type", "release_date"}
    assert not Release.objects.exists()


def test_release_edit_goes_through_release_update(client, world):
    url = reverse("releases:release_edit", args=[world.release.pk])
    form = client.get(url)
    assert form.status_code == 200
    assert 'value="v2.5.0"' in _html(form)

    response = client.post(
        url, {"name": "v2.5.1", "type": "release", "version_number": "v2.5.1", "release_date": "2024-01-15"}
    )

    assert response.status_code == 302
    world.release.refresh_from_db()
    assert (world.release.name, world.release.version_number) == ("v2.5.1", "v2.5.1")
    assert Event.objects.filter(release=world.release, action=EventAction.RELEASE_UPDATED).count() == 1


def test_release_edit_refuses_to_drop_the_version_of_a_release(client, world):
    before = _state()
    response = client.post(reverse("releases:release_edit", args=[world.release.pk]), {"name": "x", "type": "release"})
    assert response.status_code == 422
    assert response.context["form"].errors["version_number"] == [VERSION_NUMBER_REQUIRED]
    assert _state() == before


def test_release_edit_of_an_archived_release_is_refused(client, world):
    release_activate(release=world.release, user=world.user)
    release_archive(release=world.release, user=world.user)
    before = _state()
    response = client.post(
        reverse("releases:release_edit", args=[world.release.pk]),
        {"name": "renamed", "type": "release", "version_number": "v2.5.0"},
    )
    assert response.status_code == 422
    assert RELEASE_ARCHIVED.format(name="v2.5.0") in _html(response)
    assert _state() == before


# --- the release page ---------------------------------------------------------------------------------------------


def _actions(html: str) -> str:
    return html[html.index('<div class="actions">') :].split("</div>")[0]


def test_release_page_of_a_draft_offers_activate_clone_edit(client, world):
    world.release.description = "Notes <b>for</b> the team"
    world.release.save()
    response = client.get(reverse("releases:release_detail", args=[world.release.pk]))
    assert response.status_code == 200
    html = _html(response)
    actions = _actions(html)
    assert reverse("releases:release_activate", args=[world.release.pk]) in actions
    assert reverse("releases:release_clone", args=[world.release.pk]) in actions
    assert reverse("releases:release_edit", args=[world.release.pk]) in actions
    assert "Archive" not in actions
    assert "Matrix" not in actions
    assert "Notes &lt;b&gt;for&lt;/b&gt; the team" in html
    assert '<span class="badge status-draft">Draft</span>' in html


def test_release_page_of_an_active_release_offers_matrix_add_customers_clone_archive(client, world):
    release_activate(release=world.release, user=world.user)
    customer_step_mark_done(step=_step(world, "customer-a", 0), user=world.user)
    html = _html(client.get(reverse("releases:release_detail", args=[world.release.pk])))
    actions = _actions(html)
    assert reverse("steps:matrix", args=[world.release.pk]) in actions
    assert reverse("releases:release_add_customers", args=[world.release.pk]) in actions
    assert reverse("releases:release_clone", args=[world.release.pk]) in actions
    assert reverse("releases:release_archive", args=[world.release.pk]) in actions
    assert 'hx-confirm="Archive v2.5.0? 17 customer steps are still pending or reverted' in actions
    assert "Activate" not in actions
    assert "Edit" not in actions


def test_release_page_of_an_archived_release_offers_matrix_and_clone_and_a_read_only_editor(client, world):
    release_activate(release=world.release, user=world.user)
    release_archive(release=world.release, user=world.user)
    html = _html(client.get(reverse("releases:release_detail", args=[world.release.pk])))
    actions = _actions(html)
    assert reverse("steps:matrix", args=[world.release.pk]) in actions
    assert reverse("releases:release_clone", args=[world.release.pk]) in actions
    assert "Archive" not in actions
    assert "Add customers" not in actions
    assert "Deploy app" in html
    assert "data-sortable" not in html
    assert "drag-handle" not in html
    assert reverse("releases:template_step_edit", args=[world.templates[0].pk]) not in html
    assert reverse("releases:template_step_delete", args=[world.templates[0].pk]) not in html
    assert reverse("releases:template_step_create", args=[world.release.pk]) not in html


def test_fs_001_release_page_lists_template_steps_per_category_in_order(client, world):
    html = _html(client.get(reverse("releases:release_detail", args=[world.release.pk])))
    assert _in_order(html, "Deploy Steps", "Deploy app", "Run migration", "Verify Steps", "Health check")
    deploy = html[html.index('id="template-steps-deploy"') :].split("</form>")[0]
    assert "data-sortable" in deploy
    assert 'hx-trigger="reorder"' in deploy
    assert reverse("releases:template_steps_reorder", args=[world.release.pk, "deploy"]) in deploy
    assert f'<input type="hidden" name="order" value="{world.templates[0].pk}">' in deploy
    assert "SQL" in deploy
    assert "echo &#x27;Run migration&#x27;" in deploy  # the content preview, escaped
    assert reverse("releases:template_step_edit", args=[world.templates[1].pk]) in deploy
    assert reverse("releases:template_step_delete", args=[world.templates[1].pk]) in deploy
    assert f"{reverse('releases:template_step_create', args=[world.release.pk])}?category=verify" in html


def test_fs_001_release_page_previews_a_template_step_with_its_line_breaks(client, world):
    world.templates[0].content = "kubectl -n ns rollout restart deploy/app\nkubectl -n ns rollout status deploy/app"
    world.templates[0].save()

    html = _html(client.get(reverse("releases:release_detail", args=[world.release.pk])))

    step = html[html.index(f'id="template-step-{world.templates[0].pk}"') :].split("</li>")[0]
    assert (
        '<pre class="template-step-preview muted">'
        "kubectl -n ns rollout restart deploy/app\nkubectl -n ns rollout status deploy/app</pre>"
    ) in step


# --- activation (FR-003) ------------------------------------------------------------------------------------------


def test_fr_003_activate_dialog_lists_eligible_customers_grouped_by_cluster(client, world):
    CustomerFactory(cluster=world.clusters["prod-us"], name="sleeping", is_active=False)
    response = client.get(reverse("releases:release_activate", args=[world.release.pk]), **DIALOG)

    assert response.status_code == 200
    html = _html(response)
    assert "<html" not in html  # the fragment only
    assert html.lstrip().startswith('<form id="activate-dialog"')
    assert _in_order(html, "prod-eu", "customer-d", "customer-e", "prod-us", "customer-a", "customer-c", "staging")
    assert "prod-us/cust-a-prod" in html
    assert "staging/demo" in html
    assert "sleeping" not in html
    assert html.count('type="checkbox" name="customers"') == 6
    assert html.count(" checked>") == 6
    assert html.count("Select All") == 3
    assert html.count(">None<") == 3
    assert "data-picker-search" in html
    assert "Creates 18 customer steps for 6 customers" in html  # 3 template steps times 6 customers
    assert "customers that become active later join it automatically" in html


def test_fr_003_activate_dialog_without_htmx_is_a_page(client, world):
    response = client.get(reverse("releases:release_activate", args=[world.release.pk]))
    assert response.status_code == 200
    assert "<html" in _html(response)
    assert 'id="activate-dialog"' in _html(response)


def test_fr_003_br_r01_activate_with_everyone_checked_covers_all_customers(client, world):
    response = client.post(reverse("releases:release_activate", args=[world.release.pk]), _everyone(world), **DIALOG)

    assert response.status_code == 200
    world.release.refresh_from_db()
    assert world.release.status == ReleaseStatus.ACTIVE
    assert world.release.covers_all_customers
    assert CustomerStep.objects.filter(release=world.release).count() == 18
    html = _html(response)
    assert '<div id="release-page" hx-target="this" hx-swap="outerHTML" hx-swap-oob="true">' in html
    assert '<span class="badge status-active">Active</span>' in html
    assert 'id="messages"' in html
    assert "Release v2.5.0 is active." in html


def test_fr_003_unchecked_customers_and_clusters_are_left_out(client, world):
    ids = {name: customer.pk for name, customer in world.customers.items()}
    checked = [ids["customer-b"], ids["customer-c"], ids["demo-customer"]]
    response = client.post(
        reverse("releases:release_activate", args=[world.release.pk]),
        {"customers": checked, "shown": list(ids.values())},
        **DIALOG,
    )

    assert response.status_code == 200
    world.release.refresh_from_db()
    assert world.release.status == ReleaseStatus.ACTIVE
    assert not world.release.covers_all_customers
    assert set(Enrollment.objects.values_list("customer__name", flat=True)) == {
        "customer-b",
        "customer-c",
        "demo-customer",
    }
    assert CustomerStep.objects.count() == 9


def test_fr_003_customers_that_appeared_since_the_dialog_opened_are_not_left_out(client, world):
    data = _everyone(world)
    latecomer = CustomerFactory(cluster=world.clusters["prod-eu"], name="customer-f")
    client.post(reverse("releases:release_activate", args=[world.release.pk]), data, **DIALOG)
    world.release.refresh_from_db()
    assert world.release.covers_all_customers
    assert Enrollment.objects.filter(customer=latecomer).exists()


def test_fr_003_activate_with_nothing_checked_is_refused_in_the_dialog(client, world):
    before = _state()
    response = client.post(
        reverse("releases:release_activate", args=[world.release.pk]),
        {"shown": [customer.pk for customer in world.customers.values()]},
        **DIALOG,
    )
    assert response.status_code == 422
    html = _html(response)
    assert html.lstrip().startswith('<form id="activate-dialog"')
    assert SELECTION_EMPTY.format(name="v2.5.0") in html
    assert "checked>" not in html  # the selection is shown as it was sent
    assert _state() == before


def test_fr_003_activating_twice_is_refused(client, world):
    customer_a = world.customers["customer-a"]
    release_activate(release=world.release, user=world.user, exclude_customers=[customer_a.pk])
    before = _state()
    response = client.post(
        reverse("releases:release_activate", args=[world.release.pk]), {"customers": [customer_a.pk]}, **DIALOG
    )
    assert response.status_code == 422
    html = _html(response)
    assert TRANSITION_REFUSED.format(name="v2.5.0", status="active", verb="activate") in html
    assert f'value="{customer_a.pk}" checked>' in html  # the selection sent is shown again
    assert _state() == before


def test_fr_003_activate_without_htmx_redirects_to_the_release_page(client, world):
    response = client.post(reverse("releases:release_activate", args=[world.release.pk]), _everyone(world))
    assert response.status_code == 302
    assert response.url == reverse("releases:release_detail", args=[world.release.pk])
    world.release.refresh_from_db()
    assert world.release.status == ReleaseStatus.ACTIVE


# --- add customers (late joiners) ---------------------------------------------------------------------------------


def test_add_customers_dialog_offers_eligible_customers_not_yet_in_the_release(client, world):
    ids = [world.customers["customer-a"].pk, world.customers["customer-b"].pk]
    release_activate(release=world.release, user=world.user, exclude_customers=ids)
    newcomer = CustomerFactory(cluster=world.clusters["staging"], name="newcomer", namespace="new")

    response = client.get(reverse("releases:release_add_customers", args=[world.release.pk]), **DIALOG)

    assert response.status_code == 200
    html = _html(response)
    assert html.lstrip().startswith('<form id="add-customers-dialog"')
    assert _in_order(html, "prod-us", "customer-a", "customer-b", "staging", "newcomer")
    assert "staging/new" in html
    assert "customer-c" not in html
    assert " checked>" not in html  # nothing is checked until the user checks it
    assert "Adds 0 customer steps for 0 customers" in html

    response = client.post(
        reverse("releases:release_add_customers", args=[world.release.pk]),
        {"customers": [world.customers["customer-a"].pk, newcomer.pk]},
        **DIALOG,
    )

    assert response.status_code == 200
    assert "Added to v2.5.0: customer-a, newcomer." in _html(response)
    assert CustomerStep.objects.filter(customer__in=[world.customers["customer-a"], newcomer]).count() == 6
    assert not Enrollment.objects.filter(customer=world.customers["customer-b"]).exists()


def test_add_customers_needs_a_selection(client, world):
    release_activate(release=world.release, user=world.user, exclude_customers=[world.customers["customer-a"].pk])
    before = _state()
    response = client.post(reverse("releases:release_add_customers", args=[world.release.pk]), {}, **DIALOG)
    assert response.status_code == 422
    assert "Select at least one customer to add." in _html(response)
    assert _state() == before


def test_add_customers_refuses_customers_already_in_the_release(client, world):
    release_activate(release=world.release, user=world.user, exclude_customers=[world.customers["customer-a"].pk])
    before = _state()
    customer_b = world.customers["customer-b"]
    response = client.post(
        reverse("releases:release_add_customers", args=[world.release.pk]), {"customers": [customer_b.pk]}, **DIALOG
    )
    assert response.status_code == 422  # customer-b is not offered: it is already in the release
    assert f"{customer_b.pk} is not one of the available choices" in _html(response)
    assert _state() == before


def test_add_customers_to_a_draft_is_refused(client, world):
    before = _state()
    response = client.post(
        reverse("releases:release_add_customers", args=[world.release.pk]),
        {"customers": [world.customers["customer-a"].pk]},
        **DIALOG,
    )
    assert response.status_code == 422
    assert "customers can only be added to an active release" in _html(response)
    assert _state() == before


# --- clone (FR-004) and archive (FR-005) --------------------------------------------------------------------------


def test_fr_004_clone_opens_a_new_draft_named_copy_with_the_template_steps(client, world):
    release_activate(release=world.release, user=world.user)
    response = client.post(reverse("releases:release_clone", args=[world.release.pk]))
    clone = Release.objects.get(name="v2.5.0 (copy)")
    assert response.status_code == 302
    assert response.url == reverse("releases:release_detail", args=[clone.pk])
    assert clone.status == ReleaseStatus.DRAFT
    assert list(clone.template_steps.order_by("category", "order_index").values_list("name", flat=True)) == [
        "Deploy app",
        "Run migration",
        "Health check",
    ]


def test_fr_004_clone_takes_a_name(client, world):
    client.post(reverse("releases:release_clone", args=[world.release.pk]), {"name": "v2.6.0"})
    assert Release.objects.filter(name="v2.6.0", cloned_from=world.release).exists()


def test_fr_005_archive_updates_the_release_page_in_place(client, world):
    release_activate(release=world.release, user=world.user)
    response = client.post(reverse("releases:release_archive", args=[world.release.pk]), **HTMX)
    assert response.status_code == 200
    world.release.refresh_from_db()
    assert world.release.status == ReleaseStatus.ARCHIVED
    html = _html(response)
    assert '<div id="release-page" hx-target="this" hx-swap="outerHTML" hx-swap-oob="true">' in html
    assert '<span class="badge status-archived">Archived</span>' in html
    assert "data-sortable" not in html
    assert "Release v2.5.0 is archived." in html


def test_fr_005_archive_without_htmx_redirects(client, world):
    release_activate(release=world.release, user=world.user)
    response = client.post(reverse("releases:release_archive", args=[world.release.pk]))
    assert response.status_code == 302
    assert response.url == reverse("releases:release_detail", args=[world.release.pk])


def test_fr_005_archiving_a_draft_is_refused(client, world):
    before = _state()
    message = TRANSITION_REFUSED.format(name="v2.5.0", status="draft", verb="archive")
    response = client.post(reverse("releases:release_archive", args=[world.release.pk]), **HTMX)
    assert response.status_code == 422
    assert message in _html(response)
    response = client.post(reverse("releases:release_archive", args=[world.release.pk]))
    assert response.status_code == 422
    assert message in _html(response)
    assert _state() == before


# --- the template step editor (FS-001..FS-004) --------------------------------------------------------------------


def test_fs_001_add_form_takes_the_category_from_the_link(client, world):
    url = reverse("releases:template_step_create", args=[world.release.pk])
    response = client.get(f"{url}?category=verify", **DIALOG)
    assert response.status_code == 200
    html = _html(response)
    assert html.lstrip().startswith('<form id="template-step-form"')
    assert '<option value="verify" selected>' in html
    for field in ("name", "category", "type", "content", "description", "position"):
        assert f'name="{field}"' in html


def test_fs_001_add_template_step_reaches_every_customer_of_an_active_release(client, world):
    release_activate(release=world.release, user=world.user)
    response = client.post(
        reverse("releases:template_step_create", args=[world.release.pk]),
        {
            "name": "Backup DB",
            "category": "deploy",
            "type": "bash",
            "content": "pg_dump app > backup.sql\r\necho done",
            "position": "1",
        },
        **DIALOG,
    )
    assert response.status_code == 200
    step = StepTemplate.objects.get(name="Backup DB")
    assert step.order_index == 0
    assert step.content == "pg_dump app > backup.sql\necho done"
    assert CustomerStep.objects.filter(template=step).count() == 6
    html = _html(response)
    assert '<div id="release-page" hx-target="this" hx-swap="outerHTML" hx-swap-oob="true">' in html
    assert _in_order(html, "Backup DB", "Deploy app", "Run migration")
    assert "Template step Backup DB added." in html


def test_fs_001_add_template_step_without_htmx_redirects(client, world):
    response = client.post(
        reverse("releases:template_step_create", args=[world.release.pk]),
        {"name": "Smoke test", "category": "verify", "type": "text", "content": "Open the app"},
    )
    assert response.status_code == 302
    assert StepTemplate.objects.get(name="Smoke test").order_index == 1  # at the end by default


def test_fs_001_template_step_without_content_is_refused_next_to_the_field(client, world):
    before = _state()
    response = client.post(
        reverse("releases:template_step_create", args=[world.release.pk]),
        {"name": "Empty", "category": "deploy", "type": "bash", "content": "  "},
        **DIALOG,
    )
    assert response.status_code == 422
    assert response.context["form"].errors["content"] == [CONTENT_REQUIRED]
    assert _state() == before


def test_fs_002_edit_form_of_an_active_release_says_which_customer_steps_it_reaches(client, world):
    release_activate(release=world.release, user=world.user)
    customer_step_mark_done(step=_step(world, "customer-a", 1), user=world.user)
    customer_step_override(step=_step(world, "customer-b", 1), user=world.user, content="SELECT 2;")
    url = reverse("releases:template_step_edit", args=[world.templates[1].pk])

    response = client.get(url, **DIALOG)

    assert response.status_code == 200
    assert "Changes reach only the 4 customer steps that are still pending and not overridden" in _html(response)

    response = client.post(
        url, {"name": "Run migration", "category": "deploy", "type": "sql", "content": "SELECT 3;"}, **DIALOG
    )

    assert response.status_code == 200
    contents = dict(CustomerStep.objects.filter(template=world.templates[1]).values_list("customer__name", "content"))
    assert contents["customer-b"] == "SELECT 2;"
    assert contents["customer-a"] != "SELECT 3;"
    assert [contents[name] for name in ("customer-c", "customer-d", "customer-e", "demo-customer")] == ["SELECT 3;"] * 4


def test_fs_002_edit_form_of_a_draft_names_no_customer_steps(client, world):
    response = client.get(reverse("releases:template_step_edit", args=[world.templates[0].pk]))
    assert response.status_code == 200
    assert "<html" in _html(response)
    assert "Changes reach only" not in _html(response)


def test_fs_002_editing_a_template_step_of_an_archived_release_is_refused(client, world):
    release_activate(release=world.release, user=world.user)
    release_archive(release=world.release, user=world.user)
    before = _state()
    response = client.post(
        reverse("releases:template_step_edit", args=[world.templates[0].pk]),
        {"name": "Deploy app", "category": "deploy", "type": "bash", "content": "echo changed"},
        **DIALOG,
    )
    assert response.status_code == 422
    assert RELEASE_ARCHIVED.format(name="v2.5.0") in _html(response)
    assert _state() == before


def test_fs_004_delete_confirmation_names_the_customer_steps_removed_and_kept(client, world):
    release_activate(release=world.release, user=world.user)
    customer_step_mark_done(step=_step(world, "customer-a", 1), user=world.user)
    customer_step_skip(step=_step(world, "customer-b", 1), user=world.user, reason="Not on this version")
    customer_step_override(step=_step(world, "customer-c", 1), user=world.user, content="SELECT 2;")
    url = reverse("releases:template_step_delete", args=[world.templates[1].pk])
    before = _state()

    response = client.get(url, **DIALOG)

    assert response.status_code == 200
    assert (
        "Deleting «Run migration» removes it from 3 customers where it is still pending; 3 customer steps that were "
        "done, skipped, reverted or overridden are kept" in _html(response)
    )
    assert _state() == before

    response = client.post(url, **DIALOG)

    assert response.status_code == 200
    assert not StepTemplate.objects.filter(pk=world.templates[1].pk).exists()
    assert CustomerStep.objects.filter(template=world.templates[1]).count() == 3
    assert "Run migration" not in _html(response).split('id="messages"')[0]


def test_fs_004_deleting_a_template_step_of_an_archived_release_is_refused(client, world):
    release_activate(release=world.release, user=world.user)
    release_archive(release=world.release, user=world.user)
    before = _state()
    response = client.post(reverse("releases:template_step_delete", args=[world.templates[0].pk]), **DIALOG)
    assert response.status_code == 422
    assert RELEASE_ARCHIVED.format(name="v2.5.0") in _html(response)
    assert _state() == before


def test_fs_004_a_deleted_template_step_is_gone(client, world):
    client.post(reverse("releases:template_step_delete", args=[world.templates[0].pk]))
    assert client.get(reverse("releases:template_step_edit", args=[world.templates[0].pk])).status_code == 404


def test_fs_003_reorder_answers_the_list_in_the_new_order(client, world):
    deploy_app, run_migration = world.templates[0], world.templates[1]
    response = client.post(
        reverse("releases:template_steps_reorder", args=[world.release.pk, "deploy"]),
        {"order": [run_migration.pk, deploy_app.pk]},
        **HTMX,
        HTTP_HX_TARGET="template-steps-deploy",
    )
    assert response.status_code == 200
    html = _html(response)
    assert html.lstrip().startswith('<form id="template-steps-deploy"')
    assert "Health check" not in html
    assert _in_order(html, "Run migration", "Deploy app")
    assert list(
        StepTemplate.objects.filter(release=world.release, category="deploy")
        .order_by("order_index")
        .values_list("name", flat=True)
    ) == ["Run migration", "Deploy app"]
    assert Event.objects.filter(action=EventAction.TEMPLATE_STEP_REORDERED).count() == 1


def test_fs_003_reorder_without_htmx_redirects_to_the_release_page(client, world):
    response = client.post(
        reverse("releases:template_steps_reorder", args=[world.release.pk, "deploy"]),
        {"order": [world.templates[1].pk, world.templates[0].pk]},
    )
    assert response.status_code == 302
    assert response.url == reverse("releases:release_detail", args=[world.release.pk])
    assert StepTemplate.objects.get(pk=world.templates[1].pk).order_index == 0


def test_fs_003_move_down_without_javascript_posts_the_order_and_the_move(client, world):
    deploy_app, run_migration = world.templates[0], world.templates[1]
    response = client.post(
        reverse("releases:template_steps_reorder", args=[world.release.pk, "deploy"]),
        {"order": [deploy_app.pk, run_migration.pk], "move": f"{deploy_app.pk}:down"},
    )
    assert response.status_code == 302
    names = StepTemplate.objects.filter(release=world.release, category="deploy").order_by("order_index")
    assert list(names.values_list("name", flat=True)) == ["Run migration", "Deploy app"]
    assert Event.objects.filter(action=EventAction.TEMPLATE_STEP_REORDERED).count() == 1


def test_fs_003_a_move_past_the_end_changes_nothing(client, world):
    deploy_app, run_migration = world.templates[0], world.templates[1]
    client.post(
        reverse("releases:template_steps_reorder", args=[world.release.pk, "deploy"]),
        {"order": [deploy_app.pk, run_migration.pk], "move": f"{deploy_app.pk}:up"},
    )
    assert StepTemplate.objects.get(pk=deploy_app.pk).order_index == 0
    assert not Event.objects.filter(action=EventAction.TEMPLATE_STEP_REORDERED).exists()


def test_fs_003_reorder_with_a_stale_list_is_refused_and_shows_the_order_kept(client, world):
    StepTemplateFactory(release=world.release, name="Added elsewhere", category="deploy", order_index=2)
    url = reverse("releases:template_steps_reorder", args=[world.release.pk, "deploy"])
    stale = {"order": [world.templates[1].pk, world.templates[0].pk]}
    message = REORDER_MISMATCH.format(category="deploy", release="v2.5.0")
    before = _state()

    response = client.post(url, stale, **HTMX)

    assert response.status_code == 422
    html = _html(response)
    assert html.lstrip().startswith('<form id="template-steps-deploy"')
    assert message in html
    assert _in_order(html, "Deploy app", "Run migration", "Added elsewhere")

    response = client.post(url, stale)

    assert response.status_code == 422
    assert message in _html(response)
    assert _state() == before


def test_fs_003_reorder_of_an_archived_release_is_refused(client, world):
    release_activate(release=world.release, user=world.user)
    release_archive(release=world.release, user=world.user)
    before = _state()
    response = client.post(
        reverse("releases:template_steps_reorder", args=[world.release.pk, "deploy"]),
        {"order": [world.templates[1].pk, world.templates[0].pk]},
        **HTMX,
    )
    assert response.status_code == 422
    assert RELEASE_ARCHIVED.format(name="v2.5.0") in _html(response)
    assert _state() == before


def test_fs_003_reorder_of_an_unknown_category_is_not_found(client, world):
    url = reverse("releases:template_steps_reorder", args=[world.release.pk, "cleanup"])
    assert client.post(url, {"order": [world.templates[0].pk]}, **HTMX).status_code == 404


# --- constant number of queries -----------------------------------------------------------------------------------


@pytest.fixture(params=[10, 200], ids=["10-customers", "200-customers"])
def busy_world(request, world):
    """The example world grown to `param` customers over two more clusters, its release active with some steps
    done, a draft and an archived release beside it."""
    extra = request.param - len(world.customers)
    clusters = [ClusterFactory(), ClusterFactory()]
    for index in range(extra):
        CustomerFactory(cluster=clusters[index % 2])
    draft = ReleaseFactory(name="v2.6.0")
    StepTemplateFactory.create_batch(3, release=draft)
    release_activate(release=world.release, user=world.user)
    for step in CustomerStep.objects.filter(template=world.templates[0])[:5]:
        customer_step_mark_done(step=step, user=world.user)
    archived = ReleaseFactory(name="v2.4.0")
    release_activate(release=archived, user=world.user)
    release_archive(release=archived, user=world.user)
    world.draft = draft
    world.customer_count = request.param
    return world


QUERY_BOUND = 6 + 2  # + 2: the user's permissions, read once per request for the role checks


def test_release_list_queries_do_not_grow_with_customers(client, busy_world, django_assert_max_num_queries):
    with django_assert_max_num_queries(QUERY_BOUND):
        assert client.get(reverse("releases:release_list")).status_code == 200


def test_release_page_queries_do_not_grow_with_customers(client, busy_world, django_assert_max_num_queries):
    with django_assert_max_num_queries(QUERY_BOUND + 1):  # + 1: the release's variables (its defaults)
        assert client.get(reverse("releases:release_detail", args=[busy_world.release.pk])).status_code == 200


def test_activate_dialog_queries_do_not_grow_with_customers(client, busy_world, django_assert_max_num_queries):
    # + 1: the variables the customers' steps would use, to mark those that would start blocked
    with django_assert_max_num_queries(QUERY_BOUND + 1):
        response = client.get(reverse("releases:release_activate", args=[busy_world.draft.pk]), **DIALOG)
    assert response.status_code == 200
    assert _html(response).count('name="customers"') == busy_world.customer_count


@pytest.mark.parametrize(
    "name, of",
    [
        ("releases:release_create", None),
        ("releases:release_edit", "release"),
        ("releases:release_activate", "release"),
        ("releases:release_add_customers", "release"),
        ("releases:template_step_create", "release"),
        ("releases:template_step_edit", "template"),
        ("releases:template_step_delete", "template"),
    ],
)
def test_a_viewer_opening_a_form_the_role_cannot_use_is_refused_before_seeing_it(world, viewer, name, of):
    client = Client()
    client.force_login(viewer)
    args = {None: [], "release": [world.release.pk], "template": [world.templates[0].pk]}[of]

    page = client.get(reverse(name, args=args))
    dialog = client.get(reverse(name, args=args), **DIALOG)

    assert page.status_code == 403
    assert "<form" not in _html(page).split('id="refused-title"')[1]
    assert dialog.status_code == 403
    assert dialog["HX-Reswap"] == "none"
    assert "may not" in _html(dialog)
