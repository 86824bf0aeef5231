"""The variables' admin: it saves through the services (their refusals next to the field, their history, soft
delete) and never shows a sensitive value, in clear or encrypted."""

import pytest
from django.urls import reverse

from core import crypto
from history.choices import EventAction
from history.models import Event
from variables.models import MASK, Variable
from variables.services import NAME_TAKEN, ONE_OWNER, variable_create

pytestmark = pytest.mark.django_db

SECRET = "hunter2-correct-horse"


def _url(view: str, *args) -> str:
    return reverse(f"admin:variables_variable_{view}", args=args)


def _form(**fields) -> dict:
    return {"cluster": "", "release": "", "key": "", "value": "", **fields}


def test_admin_add_defines_a_variable_through_the_service(admin_client, admin_user, world):
    customer = world.customers["customer-a"]
    response = admin_client.post(_url("add"), _form(customer=customer.pk, key="DB_HOST", value="db"))
    assert response.status_code == 302
    variable = Variable.objects.get()
    assert (variable.owner, variable.key, variable.value) == (customer, "DB_HOST", "db")
    assert Event.objects.get(action=EventAction.VARIABLE_ADDED).actor == admin_user


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"customer": "", "key": "X", "value": "x"}, None, ONE_OWNER),
        ({"key": "DB_HOST", "value": "2"}, "key", NAME_TAKEN.format(owner="customer-a", key="DB_HOST")),
        ({"key": "DB_PASSWORD", "value": SECRET, "is_sensitive": "on"}, "is_sensitive", crypto.NOT_CONFIGURED_MESSAGE),
    ],
    ids=["no owner", "name taken", "sensitive without a key"],
)
def test_admin_shows_refusals_next_to_their_field_and_saves_nothing(
    admin_client, world, no_encryption_key, fields, field, message
):
    customer = world.customers["customer-a"]
    variable_create(owner=customer, key="DB_HOST", value="1", user=world.user)
    counts = (Variable.objects.count(), Event.objects.count())

    response = admin_client.post(_url("add"), _form(**{"customer": customer.pk, **fields}))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field or "__all__"] == [message]
    assert (Variable.objects.count(), Event.objects.count()) == counts


def test_admin_never_shows_a_sensitive_value(admin_client, world, encryption_key):
    variable = variable_create(
        owner=world.customers["customer-a"], key="DB_PASSWORD", value=SECRET, is_sensitive=True, user=world.user
    )
    token = Variable.objects.get(pk=variable.pk).encrypted_value

    for page in (admin_client.get(_url("changelist")), admin_client.get(_url("change", variable.pk))):
        html = page.content.decode()
        assert page.status_code == 200
        assert SECRET not in html and token not in html
    assert MASK in admin_client.get(_url("changelist")).content.decode()


def test_admin_edit_keeps_a_sensitive_value_left_blank_and_replaces_a_typed_one(admin_client, world, encryption_key):
    release = world.release
    variable = variable_create(owner=release, key="TOKEN", value=SECRET, is_sensitive=True, user=world.user)

    admin_client.post(_url("change", variable.pk), _form(key="API_TOKEN", is_sensitive="on"))
    row = Variable.objects.get(pk=variable.pk)
    assert (row.key, row.release, crypto.decrypt(row.encrypted_value)) == ("API_TOKEN", release, SECRET)

    admin_client.post(_url("change", variable.pk), _form(key="API_TOKEN", value="new", is_sensitive="on"))
    assert crypto.decrypt(Variable.objects.get(pk=variable.pk).encrypted_value) == "new"


def test_admin_delete_is_the_services_soft_delete(admin_client, world):
    variable = variable_create(owner=world.release, key="REGION", value="eu", user=world.user)
    response = admin_client.post(_url("delete", variable.pk), {"post": "yes"})
    assert response.status_code == 302
    assert Variable.all_objects.get(pk=variable.pk).is_deleted
    assert Event.objects.filter(action=EventAction.VARIABLE_DELETED).count() == 1
