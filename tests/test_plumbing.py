"""Serving plumbing (issue 10, item 4): sessions read from the cache, a logged-out session refused everywhere, the
user's permissions read in one query per request, PostgreSQL's connection pool."""

import pytest
from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from releases.services import release_activate
from steps.models import CustomerStep

HTMX_FROM_TEMPLATE_STEP = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "side-panel"}


def _queries_on(table: str, queries) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if f'"{table}"' in query["sql"]]


def test_sessions_are_read_from_the_cache_not_the_database(client, user):
    client.force_login(user)

    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("customers:customer_list")).status_code == 200

    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    assert not _queries_on("django_session", queries)


@pytest.mark.parametrize(
    "name, args",
    [
        ("dashboard:dashboard", []),
        ("customers:customer_list", []),
        ("audit:audit", []),
        ("steps:template_step_status", ["template"]),
        ("steps:matrix", ["release"]),
    ],
)
def test_a_logged_out_session_is_refused_everywhere(client, world, name, args):
    release_activate(release=world.release, user=world.user)
    values = {"template": world.templates[0].pk, "release": world.release.pk}
    url = reverse(name, args=[values[arg] for arg in args])
    client.force_login(world.user)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(url).status_code == 200

    client.post(reverse("logout"))

    # The browser's old cookie, sent again: neither the cache nor the database knows it any more.
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not SessionStore(session_key).exists(session_key)
    assert client.post(reverse("steps:step_done", args=[CustomerStep.objects.first().pk])).status_code == 302


def test_a_page_with_several_permission_checks_reads_permissions_once(client, world):
    client.force_login(world.user)  # a release manager: Add, Edit on every row

    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("customers:customer_list")).content.decode()

    assert page.count(">Edit</a>") == 6
    assert len(_queries_on("auth_permission", queries)) == 1


def test_an_action_and_the_fragments_it_answers_with_read_permissions_once(client, world, operator):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.get(customer=world.customers["customer-a"], template=world.templates[0])
    client.force_login(operator)
    url = reverse("steps:template_step_status", args=[world.templates[0].pk])

    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            reverse("steps:step_done", args=[step.pk]),
            {"notes": "", "version": step.version},
            **HTMX_FROM_TEMPLATE_STEP,
            HTTP_HX_CURRENT_URL=f"http://testserver{url}",
        )

    assert response.status_code == 200
    step.refresh_from_db()
    assert step.status == "done"
    assert len(_queries_on("auth_permission", queries)) == 1


def test_a_viewer_is_still_refused_with_permissions_read_in_one_query(client, world, viewer):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.get(customer=world.customers["customer-a"], template=world.templates[0])
    client.force_login(viewer)

    response = client.post(reverse("steps:step_done", args=[step.pk]), {"notes": "", "version": step.version})

    assert response.status_code == 403
    assert viewer.has_perm("steps.view_customerstep") and not viewer.has_perm("steps.execute_customerstep")


def test_postgresql_keeps_its_connections_in_a_pool_sqlite_keeps_its_settings():
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if connection.vendor == "postgresql":
        assert options["pool"]["min_size"] >= 1 and options["pool"]["max_size"] >= options["pool"]["min_size"]
        assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0
    else:
        assert "pool" not in options and options["transaction_mode"] == "IMMEDIATE"
