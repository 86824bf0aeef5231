"""The variables table editor on the customer, cluster and release pages (issue 8): add, edit in place, delete, each
refusal with its message next to the field, status 422 and the database unchanged, the roles, the pages without
JavaScript, and a sensitive value that no page, audit page or CSV ever shows."""

import html

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.views import ASK_A_RELEASE_MANAGER
from core import crypto
from history.choices import EventAction
from history.models import Event
from variables.models import INVALID_NAME, MASK, Variable
from variables.services import (
    MAX_VALUE_BYTES,
    NAME_TAKEN,
    PLAIN_NEEDS_VALUE,
    VALUE_TOO_LONG,
    VARIABLE_ALREADY_DELETED,
    variable_create,
    variable_delete,
    variable_set,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
TABLE_FRAGMENT = {**HTMX, "HTTP_HX_TARGET": "variables"}
SECRET = "s3cr3t-hunter2-horse"
NEW_SECRET = "n3w-s3cr3t-battery-staple"
SCOPES = ["customer", "cluster", "release"]


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


def _owner(world, scope: str):
    return {"customer": world.customers["customer-a"], "cluster": world.clusters["prod-us"], "release": world.release}[
        scope
    ]


def _create_url(scope: str, owner) -> str:
    return reverse("variables:variable_create", args=[scope, owner.pk])


def _edit_url(variable: Variable) -> str:
    return reverse("variables:variable_edit", args=[variable.pk])


def _delete_url(variable: Variable) -> str:
    return reverse("variables:variable_delete", args=[variable.pk])


def _html(response) -> str:
    return html.unescape(response.content.decode())


def _state() -> list[tuple]:
    """Every variable row as it is (deleted ones too) and the number of events."""
    rows = Variable.all_objects.order_by("pk").values_list(
        "pk", "key", "value", "encrypted_value", "is_sensitive", "deleted_at"
    )
    return [*rows, ("events", Event.objects.count())]


def _field(page: str, name: str) -> str:
    """The markup of one field of the variable form, from its label to the next field."""
    return page.split(f'-{name}">')[1].split('<div class="field')[0]


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _add(client, owner, scope: str, headers=TABLE_FRAGMENT, **data):
    return client.post(_create_url(scope, owner), {"value": "", **data}, **headers)


# --- the table on the owners' pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", SCOPES)
def test_each_owner_page_shows_its_variables_with_sensitive_ones_masked(client, world, encryption_key, scope):
    owner = _owner(world, scope)
    variable_create(owner=owner, key="DB_HOST", value="db.internal", user=world.user)
    secret = variable_create(owner=owner, key="DB_PASSWORD", value=SECRET, is_sensitive=True, user=world.user)
    variable_delete(variable=variable_create(owner=owner, key="GONE", value="x", user=world.user), user=world.user)

    page = _html(client.get(owner.get_absolute_url()))

    table = page[page.index('<section id="variables"') :].split("</section>")[0]
    assert "<code>DB_HOST</code>" in table and "db.internal" in table
    row = table[table.index(f'id="variable-{secret.pk}"') :].split("</tr>")[0]
    assert MASK in row and "sensitive" in row
    assert "GONE" not in table
    assert 'id="variable-add"' in table
    assert _edit_url(secret) in row and _delete_url(secret) in row
    assert 'hx-confirm="Delete variable DB_PASSWORD of' in row
    assert SECRET not in page and secret.encrypted_value not in page


@pytest.mark.parametrize("scope", SCOPES)
def test_an_owner_without_variables_says_so(client, world, scope):
    page = _html(client.get(_owner(world, scope).get_absolute_url()))
    assert "No variables." in page


@pytest.mark.parametrize("role", ["viewer", "operator"])
@pytest.mark.parametrize("scope", SCOPES)
def test_viewers_and_operators_see_the_table_read_only(client, world, request, role, scope):
    owner = _owner(world, scope)
    variable = variable_create(owner=owner, key="DB_HOST", value="db.internal", user=world.user)
    client.force_login(request.getfixturevalue(role))

    page = _html(client.get(owner.get_absolute_url()))

    assert "db.internal" in page
    assert 'id="variable-add"' not in page
    assert _edit_url(variable) not in page and _delete_url(variable) not in page


def test_owner_pages_read_the_variables_in_one_query_however_many(client, world):
    customer = world.customers["customer-a"]
    url = customer.get_absolute_url()
    client.get(url)  # the session and permissions, read once
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for index in range(15):
        variable_create(owner=customer, key=f"VAR_{index}", value=str(index), user=world.user)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


# --- add ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", SCOPES)
def test_add_answers_htmx_with_the_table_and_the_message(client, world, scope):
    owner = _owner(world, scope)

    response = _add(client, owner, scope, key="DB_HOST", value="db.internal")

    assert response.status_code == 200
    page = _html(response)
    assert page.lstrip().startswith('<section id="variables"')
    assert "<html" not in page
    assert "<code>DB_HOST</code>" in page and "db.internal" in page
    assert 'id="messages"' in page and 'hx-swap-oob="true"' in page
    assert f"Variable DB_HOST added to {scope} {owner}." in page
    variable = Variable.objects.get()
    assert (variable.owner, variable.key, variable.value) == (owner, "DB_HOST", "db.internal")
    assert Event.objects.get(action=EventAction.VARIABLE_ADDED).after["key"] == "DB_HOST"
    assert "HX-Request" in response["Vary"]


def test_add_a_sensitive_value_encrypts_it_and_shows_it_masked(client, world, encryption_key):
    customer = world.customers["customer-a"]

    response = _add(client, customer, "customer", key="TOKEN", value=SECRET, is_sensitive="on")

    assert response.status_code == 200
    variable = Variable.objects.get()
    assert (variable.is_sensitive, variable.value, crypto.decrypt(variable.encrypted_value)) == (True, "", SECRET)
    page = _html(response)
    assert MASK in page and SECRET not in page and variable.encrypted_value not in page


def test_add_keeps_a_multiline_value_as_typed(client, world):
    _add(client, world.release, "release", key="CERT", value="line 1\r\n  line 2\r\n")
    assert Variable.objects.get().value == "line 1\n  line 2\n"


def test_add_without_javascript_goes_back_to_the_owner_page(client, world):
    cluster = world.clusters["prod-us"]

    response = _add(client, cluster, "cluster", headers={}, key="REGION", value="us-east-1")

    assert response.status_code == 302 and response["Location"] == cluster.get_absolute_url()
    page = _html(client.get(response["Location"]))
    assert "Variable REGION added to cluster prod-us." in page and "us-east-1" in page


def test_add_goes_back_to_a_next_on_this_site_only(client, world):
    customer = world.customers["customer-a"]
    response = _add(client, customer, "customer", headers={}, key="A", next="/releases/")
    assert response["Location"] == "/releases/"
    response = _add(client, customer, "customer", headers={}, key="B", next="https://evil.example/")
    assert response["Location"] == customer.get_absolute_url()


REFUSALS = {
    "invalid name": ({"key": "db host"}, "key", INVALID_NAME),
    "duplicate name": ({"key": "DB_HOST"}, "key", NAME_TAKEN.format(owner="customer-a", key="DB_HOST")),
    "over 64 KB": (
        {"key": "BIG", "value": "x" * (MAX_VALUE_BYTES + 1)},
        "value",
        VALUE_TOO_LONG.format(size=MAX_VALUE_BYTES + 1),
    ),
    "sensitive without a key": ({"key": "TOKEN", "value": SECRET, "is_sensitive": "on"}, "is_sensitive", None),
}


@pytest.mark.parametrize("refusal", REFUSALS.values(), ids=REFUSALS.keys())
def test_add_refused_gives_the_form_back_with_the_message_next_to_the_field(client, world, no_encryption_key, refusal):
    data, field, message = refusal
    message = message or crypto.NOT_CONFIGURED_MESSAGE
    customer = world.customers["customer-a"]
    variable_create(owner=customer, key="DB_HOST", value="db.internal", user=world.user)
    before = _state()

    response = _add(client, customer, "customer", **data)

    assert response.status_code == 422
    page = _html(response)
    add_form = page[page.index('id="variable-add"') :]
    assert message in _field(add_form, field)
    assert 'has-error">\n    <label for="variable-new-' + field in add_form
    assert _state() == before
    assert SECRET not in page


def test_add_refused_without_javascript_is_a_page_with_the_form(client, world):
    customer = world.customers["customer-a"]
    before = _state()

    response = _add(client, customer, "customer", headers={}, key="1st", value="kept as typed")

    assert response.status_code == 422
    page = _html(response)
    assert "<html" in page and "New variable" in page
    assert INVALID_NAME in _field(page, "key")
    assert 'value="1st"' in page and "kept as typed" in page
    assert customer.get_absolute_url() in page
    assert _state() == before


def test_a_refused_sensitive_value_is_not_shown_back(client, world, encryption_key):
    response = _add(client, world.release, "release", key="not valid", value=SECRET, is_sensitive="on")
    assert response.status_code == 422
    assert SECRET not in _html(response)
    assert 'value="not valid"' in _html(response)


def test_add_with_a_blank_name_is_refused_by_the_form(client, world):
    before = _state()
    response = _add(client, world.release, "release", key="  ")
    assert response.status_code == 422
    assert "This field is required." in _field(_html(response), "key")
    assert _state() == before


def test_add_with_a_null_character_is_refused_not_a_server_error(client, world):
    before = _state()
    response = _add(client, world.release, "release", key="A", value="x\x00y")
    assert response.status_code == 422
    assert _state() == before


def test_the_add_form_page_works_without_javascript(client, world):
    response = client.get(_create_url("release", world.release))
    assert response.status_code == 200
    assert 'id="variable-add"' in _html(response)


@pytest.mark.parametrize(("scope", "pk"), [("template", None), ("customer", 999999)])
def test_an_unknown_owner_is_not_found(client, world, scope, pk):
    response = client.post(reverse("variables:variable_create", args=[scope, pk or world.release.pk]), {"key": "A"})
    assert response.status_code == 404
    assert not Variable.objects.exists()


# --- edit -----------------------------------------------------------------------------------------------------------


def test_edit_turns_the_row_into_its_form(client, world):
    variable = variable_create(owner=world.customers["customer-a"], key="DB_HOST", value="db.internal", user=world.user)

    response = client.get(_edit_url(variable), **HTMX)

    assert response.status_code == 200
    page = _html(response)
    assert page.strip().startswith(f'<tr id="variable-{variable.pk}" class="editing"')
    assert 'value="DB_HOST"' in page and "db.internal</textarea>" in page
    assert 'name="is_sensitive">' in page and "checked" not in page
    assert reverse("variables:variable_detail", args=[variable.pk]) in page


def test_edit_saves_and_answers_with_the_row(client, world):
    customer = world.customers["customer-a"]
    variable = variable_create(owner=customer, key="DB_HOST", value="db-1", user=world.user)

    response = client.post(_edit_url(variable), {"key": "DATABASE_HOST", "value": "db-2"}, **HTMX)

    assert response.status_code == 200
    page = _html(response)
    assert page.strip().startswith(f'<tr id="variable-{variable.pk}" hx-target="this"')
    assert "<code>DATABASE_HOST</code>" in page and "db-2" in page
    variable.refresh_from_db()
    assert (variable.key, variable.value) == ("DATABASE_HOST", "db-2")
    event = Event.objects.get(action=EventAction.VARIABLE_CHANGED)
    assert (event.before, event.after) == (
        {"key": "DB_HOST", "value": "db-1"},
        {"key": "DATABASE_HOST", "value": "db-2"},
    )


def test_edit_without_javascript_is_a_page_and_goes_back_to_the_owner(client, world):
    cluster = world.clusters["prod-us"]
    variable = variable_create(owner=cluster, key="REGION", value="us", user=world.user)

    page = _html(client.get(_edit_url(variable)))
    assert "<html" in page and "Variable REGION" in page and "us</textarea>" in page

    response = client.post(_edit_url(variable), {"key": "REGION", "value": "eu"})
    assert response.status_code == 302 and response["Location"] == cluster.get_absolute_url()
    assert "Variable REGION of cluster prod-us saved." in _html(client.get(response["Location"]))
    assert Variable.objects.get().value == "eu"


def test_cancel_puts_the_row_back(client, world):
    release = world.release
    variable = variable_create(owner=release, key="REGION", value="eu", user=world.user)
    url = reverse("variables:variable_detail", args=[variable.pk])

    page = _html(client.get(url, **HTMX))
    assert page.strip().startswith(f'<tr id="variable-{variable.pk}" hx-target="this"') and "eu" in page

    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == release.get_absolute_url()


def test_editing_a_sensitive_variable_starts_with_an_empty_value_box(client, world, encryption_key):
    variable = variable_create(owner=world.release, key="TOKEN", value=SECRET, is_sensitive=True, user=world.user)

    page = _html(client.get(_edit_url(variable), **HTMX))

    assert ">\n</textarea>" in page
    assert "leave this empty to keep it" in page
    assert "checked" in _field(page, "is_sensitive")
    assert SECRET not in page and variable.encrypted_value not in page


def test_a_sensitive_value_left_empty_is_kept(client, world, encryption_key):
    variable = variable_create(owner=world.release, key="TOKEN", value=SECRET, is_sensitive=True, user=world.user)

    response = client.post(_edit_url(variable), {"key": "API_TOKEN", "value": "", "is_sensitive": "on"}, **HTMX)

    assert response.status_code == 200
    variable.refresh_from_db()
    assert (variable.key, crypto.decrypt(variable.encrypted_value)) == ("API_TOKEN", SECRET)
    assert Event.objects.get(action=EventAction.VARIABLE_CHANGED).after == {"key": "API_TOKEN"}


def test_a_sensitive_value_typed_again_replaces_it(client, world, encryption_key):
    variable = variable_create(owner=world.release, key="TOKEN", value=SECRET, is_sensitive=True, user=world.user)

    response = client.post(_edit_url(variable), {"key": "TOKEN", "value": NEW_SECRET, "is_sensitive": "on"}, **HTMX)

    assert response.status_code == 200
    variable.refresh_from_db()
    assert crypto.decrypt(variable.encrypted_value) == NEW_SECRET
    assert NEW_SECRET not in _html(response)


def test_a_plain_value_made_sensitive_is_encrypted(client, world, encryption_key):
    variable = variable_create(owner=world.release, key="TOKEN", value=SECRET, user=world.user)

    response = client.post(_edit_url(variable), {"key": "TOKEN", "value": SECRET, "is_sensitive": "on"}, **HTMX)

    assert response.status_code == 200
    variable.refresh_from_db()
    assert (variable.value, crypto.decrypt(variable.encrypted_value)) == ("", SECRET)
    assert SECRET not in _html(response)


EDIT_REFUSALS = {
    "invalid name": ({"key": "db host", "value": "1"}, "key", INVALID_NAME),
    "duplicate name": ({"key": "DB_HOST", "value": "1"}, "key", NAME_TAKEN.format(owner="customer-a", key="DB_HOST")),
    "over 64 KB": (
        {"key": "DB_PORT", "value": "x" * (MAX_VALUE_BYTES + 1)},
        "value",
        VALUE_TOO_LONG.format(size=MAX_VALUE_BYTES + 1),
    ),
    "sensitive without a key": ({"key": "DB_PORT", "value": "1", "is_sensitive": "on"}, "is_sensitive", None),
}


@pytest.mark.parametrize("refusal", EDIT_REFUSALS.values(), ids=EDIT_REFUSALS.keys())
def test_edit_refused_gives_the_row_form_back_with_the_message_next_to_the_field(
    client, world, no_encryption_key, refusal
):
    data, field, message = refusal
    message = message or crypto.NOT_CONFIGURED_MESSAGE
    customer = world.customers["customer-a"]
    variable_create(owner=customer, key="DB_HOST", value="db.internal", user=world.user)
    variable = variable_create(owner=customer, key="DB_PORT", value="5432", user=world.user)
    before = _state()

    response = client.post(_edit_url(variable), data, **HTMX)

    assert response.status_code == 422
    page = _html(response)
    assert page.strip().startswith(f'<tr id="variable-{variable.pk}" class="editing"')
    assert message in _field(page, field)
    assert _state() == before


def test_a_sensitive_value_made_plain_needs_its_value_again(client, world, encryption_key):
    variable = variable_create(owner=world.release, key="TOKEN", value=SECRET, is_sensitive=True, user=world.user)
    before = _state()

    response = client.post(_edit_url(variable), {"key": "TOKEN", "value": ""}, **HTMX)

    assert response.status_code == 422
    page = _html(response)
    assert PLAIN_NEEDS_VALUE in _field(page, "value")
    assert SECRET not in page
    assert _state() == before


def test_edit_refused_without_javascript_is_a_page_with_the_form(client, world):
    variable = variable_create(owner=world.release, key="REGION", value="eu", user=world.user)
    before = _state()

    response = client.post(_edit_url(variable), {"key": "re gion", "value": "us"})

    assert response.status_code == 422
    page = _html(response)
    assert "<html" in page and INVALID_NAME in _field(page, "key") and "us</textarea>" in page
    assert _state() == before


def test_editing_a_variable_deleted_meanwhile_says_so(client, world):
    variable = variable_create(owner=world.release, key="REGION", value="eu", user=world.user)
    variable_delete(variable=variable, user=world.user)
    before = _state()

    response = client.post(_edit_url(variable), {"key": "REGION", "value": "us"}, **HTMX)

    assert response.status_code == 422
    assert VARIABLE_ALREADY_DELETED.format(key="REGION", owner=world.release) in _html(response)
    assert _state() == before
    assert client.get(_edit_url(variable), **HTMX).status_code == 404


# --- delete ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", SCOPES)
def test_delete_answers_htmx_with_the_table_without_it(client, world, scope):
    owner = _owner(world, scope)
    kept = variable_create(owner=owner, key="KEPT", value="1", user=world.user)
    variable = variable_create(owner=owner, key="GONE", value="2", user=world.user)

    response = client.post(_delete_url(variable), **TABLE_FRAGMENT)

    assert response.status_code == 200
    page = _html(response)
    assert page.lstrip().startswith('<section id="variables"')
    assert f'id="variable-{kept.pk}"' in page and f'id="variable-{variable.pk}"' not in page
    assert f"Variable GONE of {scope} {owner} deleted." in page
    assert list(Variable.objects.values_list("key", flat=True)) == ["KEPT"]
    assert Variable.all_objects.get(pk=variable.pk).is_deleted
    assert Event.objects.filter(action=EventAction.VARIABLE_DELETED).count() == 1


def test_delete_without_javascript_goes_back_to_the_owner_page(client, world):
    customer = world.customers["customer-a"]
    variable = variable_create(owner=customer, key="GONE", value="2", user=world.user)

    response = client.post(_delete_url(variable))

    assert response.status_code == 302 and response["Location"] == customer.get_absolute_url()
    assert not Variable.objects.exists()


def test_deleting_twice_is_refused_with_the_reason(client, world):
    variable = variable_create(owner=world.release, key="GONE", value="2", user=world.user)
    client.post(_delete_url(variable), **TABLE_FRAGMENT)
    before = _state()

    response = client.post(_delete_url(variable), **TABLE_FRAGMENT)

    assert response.status_code == 422
    assert VARIABLE_ALREADY_DELETED.format(key="GONE", owner=world.release) in _html(response)
    assert _state() == before


def test_delete_is_post_only(client, world):
    variable = variable_create(owner=world.release, key="KEPT", value="1", user=world.user)
    assert client.get(_delete_url(variable)).status_code == 405
    assert Variable.objects.exists()


# --- roles ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "operator"])
@pytest.mark.parametrize("headers", [{}, TABLE_FRAGMENT], ids=["plain", "htmx"])
def test_only_release_managers_change_variables(client, world, request, role, headers):
    customer = world.customers["customer-a"]
    variable = variable_create(owner=customer, key="DB_HOST", value="db", user=world.user)
    client.force_login(request.getfixturevalue(role))
    before = _state()

    responses = [
        _add(client, customer, "customer", headers=headers, key="NEW", value="x"),
        client.post(_edit_url(variable), {"key": "DB_HOST", "value": "other"}, **headers),
        client.post(_delete_url(variable), **headers),
        client.get(_edit_url(variable), **headers),
        client.get(_create_url("customer", customer), **headers),
    ]

    assert [response.status_code for response in responses] == [403] * 5
    assert ASK_A_RELEASE_MANAGER in _html(responses[0])
    assert _state() == before


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("post", "variable_create", ["release", 1]),
        ("get", "variable_detail", [1]),
        ("get", "variable_edit", [1]),
        ("post", "variable_edit", [1]),
        ("post", "variable_delete", [1]),
    ],
)
def test_anonymous_users_are_sent_to_the_login_page(world, method, name, args):
    response = getattr(Client(), method)(reverse(f"variables:{name}", args=args), {"key": "A"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not Variable.objects.exists()


def test_every_change_needs_the_csrf_token(world):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(world.user)
    customer = world.customers["customer-a"]
    csrf_client.get(customer.get_absolute_url())
    variable = variable_create(owner=customer, key="DB_HOST", value="db", user=world.user)
    posts = [
        (_create_url("customer", customer), {"key": "NEW", "value": "x"}),
        (_edit_url(variable), {"key": "DB_HOST", "value": "other"}),
        (_delete_url(variable), {}),
    ]
    before = _state()

    refused = [csrf_client.post(url, data, **TABLE_FRAGMENT).status_code for url, data in posts]

    assert refused == [403] * 3
    assert _state() == before
    token = csrf_client.cookies["csrftoken"].value
    accepted = [
        csrf_client.post(url, data, HTTP_X_CSRFTOKEN=token, **TABLE_FRAGMENT).status_code for url, data in posts
    ]
    assert accepted == [200] * 3


# --- a sensitive value never shows ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", SCOPES)
def test_a_sensitive_value_is_in_no_page_no_audit_page_and_no_csv(client, world, encryption_key, scope):
    owner = _owner(world, scope)
    _add(client, owner, scope, key="TOKEN", value=SECRET, is_sensitive="on")
    variable = Variable.objects.get()
    client.post(_edit_url(variable), {"key": "TOKEN", "value": NEW_SECRET, "is_sensitive": "on"}, **HTMX)
    client.post(_edit_url(variable), {"key": "API_TOKEN", "value": "", "is_sensitive": "on"}, **HTMX)
    variable.refresh_from_db()
    assert crypto.decrypt(variable.encrypted_value) == NEW_SECRET
    tokens = {variable.encrypted_value}
    events = Event.objects.filter(action__startswith="variable.")
    assert events.count() == 3

    pages = {
        "customer": client.get(world.customers["customer-a"].get_absolute_url()),
        "cluster": client.get(world.clusters["prod-us"].get_absolute_url()),
        "release": client.get(world.release.get_absolute_url()),
        "edit": client.get(_edit_url(variable), **HTMX),
        "row": client.get(reverse("variables:variable_detail", args=[variable.pk]), **HTMX),
        "audit": client.get(reverse("audit:audit")),
        "csv": client.get(reverse("audit:audit_export")),
    }

    texts = {name: html.unescape(_body(response).decode()) for name, response in pages.items()}

    assert {name: response.status_code for name, response in pages.items()} == dict.fromkeys(pages, 200)
    for name, text in texts.items():
        for secret in (SECRET, NEW_SECRET, *tokens):
            assert secret not in text, name
    assert MASK in texts[scope]
    assert "API_TOKEN" in texts["audit"] and MASK in texts["audit"]
    assert "API_TOKEN" in texts["csv"] and MASK in texts["csv"]


def test_the_customer_page_history_lists_its_variable_changes_masked(client, world, monkeypatch):
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())
    customer = world.customers["customer-a"]
    variable_set(owner=customer, key="DB_PASSWORD", value="hunter2-secret", is_sensitive=True, user=world.user)

    html = client.get(reverse("customers:customer_detail", args=[customer.pk])).content.decode()

    history = html[html.index('id="customer-history"') :]
    assert "Variable added" in history and "DB_PASSWORD" in history
    assert "hunter2-secret" not in html
