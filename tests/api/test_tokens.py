"""API tokens (issue 11, item 2): made by the command or the API tokens page, shown once and stored hashed; a
missing, unknown, revoked or expired token gets 401 JSON; the last use is noted at most once a minute."""

import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from api.authentication import TOKEN_EXPIRED, TOKEN_MALFORMED, TOKEN_REVOKED, TOKEN_UNKNOWN, USER_INACTIVE
from api.models import ApiToken
from api.services import EXPIRY_OUT_OF_RANGE, NAME_REQUIRED, api_token_create, api_token_revoke
from history.models import Event
from tests.api.conftest import ApiClient

STEPS_URL = "/api/steps/"
TOKENS_URL = reverse("api:token_list")


def _create_by_command(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("api_token", "create", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_the_command_prints_a_token_once_and_keeps_only_its_hash(user):
    secret, note = _create_by_command("rm", "--name", "jenkins", "--expires", "30")

    token = ApiToken.objects.get()
    assert secret.startswith("rc_") and len(secret) > 40
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.name, token.prefix, token.key_hash}
    assert secret.startswith(token.prefix)
    assert (token.user, token.name) == (user, "jenkins")
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert "Token jenkins for rm" in note and secret not in note


def test_the_command_refuses_an_unknown_user_and_a_bad_expiry(user):
    with pytest.raises(CommandError, match="Unknown user nobody"):
        _create_by_command("nobody")
    with pytest.raises(CommandError, match="expires after 1 to"):
        _create_by_command("rm", "--expires", "0")
    assert not ApiToken.objects.exists()


def test_the_service_refuses_a_blank_name_and_an_expiry_out_of_range(user):
    from core.errors import DomainError

    with pytest.raises(DomainError, match=NAME_REQUIRED):
        api_token_create(user=user, name="  ")
    with pytest.raises(DomainError, match=EXPIRY_OUT_OF_RANGE.replace("(", r"\(")):
        api_token_create(user=user, name="ci", expires_in_days=10_000)


def test_no_token_is_401_with_a_bearer_challenge(routes_world):
    response = ApiClient().get(STEPS_URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"detail": "Authentication credentials were not provided.", "errors": {}}


@pytest.mark.parametrize(
    ("header", "message"),
    [("Bearer rc_not-a-token", TOKEN_UNKNOWN), ("Bearer", TOKEN_MALFORMED), ("Bearer a b", TOKEN_MALFORMED)],
)
def test_an_unknown_or_malformed_token_is_401(routes_world, header, message):
    response = ApiClient().get(STEPS_URL, Authorization=header)

    assert response.status_code == 401
    assert response.json()["detail"] == message


def test_a_revoked_token_is_401_from_then_on(routes_world, user, make_token):
    secret = make_token(user)
    client = ApiClient(secret)
    assert client.get(STEPS_URL).status_code == 200

    api_token_revoke(token=ApiToken.objects.get(), user=user)
    response = client.get(STEPS_URL)

    assert response.status_code == 401
    assert response.json()["detail"] == TOKEN_REVOKED


def test_an_expired_token_is_401(routes_world, user, make_token):
    secret = make_token(user)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = ApiClient(secret).get(STEPS_URL)

    assert response.status_code == 401
    assert response.json()["detail"] == TOKEN_EXPIRED


def test_a_revoked_token_changes_nothing(routes_world, user, make_token):
    secret = make_token(user)
    api_token_revoke(token=ApiToken.objects.get(), user=user)
    step = routes_world.pending

    response = ApiClient(secret).post(f"/api/steps/{step.pk}/done/")

    assert response.status_code == 401
    step.refresh_from_db()
    assert step.status == "pending"


def test_the_token_of_an_inactive_user_is_401(routes_world, user, make_token):
    secret = make_token(user)
    user.is_active = False
    user.save()

    response = ApiClient(secret).get(STEPS_URL)

    assert response.status_code == 401
    assert response.json()["detail"] == USER_INACTIVE


def test_the_last_use_is_noted_at_most_once_a_minute(routes_world, user, make_token, django_assert_num_queries):
    client = ApiClient(make_token(user))
    client.get(STEPS_URL)
    token = ApiToken.objects.get()
    first_use = token.last_used_at
    assert first_use is not None

    # The token, the count and the page: no UPDATE within the minute.
    with django_assert_num_queries(3):
        client.get(STEPS_URL)
    ApiToken.objects.update(last_used_at=first_use - timedelta(minutes=2))
    with django_assert_num_queries(4):
        client.get(STEPS_URL)
    token.refresh_from_db()
    assert token.last_used_at > first_use


def test_the_tokens_page_shows_a_new_token_once(client, user):
    client.force_login(user)

    created = client.post(TOKENS_URL, {"name": "jenkins", "expires_in_days": "30"})
    listed = client.get(TOKENS_URL)

    token = ApiToken.objects.get()
    secret = created.context["secret"]
    assert created.status_code == 201
    assert secret in created.content.decode()
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    page = listed.content.decode()
    assert secret not in page
    assert "jenkins" in page and f"{token.prefix}…" in page and "Never" in page


def test_the_tokens_page_refuses_a_bad_expiry_next_to_it(client, user):
    client.force_login(user)

    response = client.post(TOKENS_URL, {"name": "jenkins", "expires_in_days": "0"})

    assert response.status_code == 422
    assert response.context["form"].errors["expires_in_days"]
    assert not ApiToken.objects.exists()


def test_the_tokens_page_lists_only_ones_own_tokens(client, user, operator, make_token):
    make_token(operator, "operator-ci")
    make_token(user, "my-ci")
    client.force_login(user)

    page = client.get(TOKENS_URL).content.decode()

    assert "my-ci" in page and "operator-ci" not in page


def test_revoking_from_the_page_works_as_a_plain_post_and_with_htmx(client, user, make_token):
    make_token(user, "first")
    make_token(user, "second")
    first, second = ApiToken.objects.order_by("id")
    client.force_login(user)

    plain = client.post(reverse("api:token_revoke", args=[first.pk]))
    htmx = client.post(reverse("api:token_revoke", args=[second.pk]), headers={"HX-Request": "true"})

    assert plain.status_code == 302 and plain["Location"] == TOKENS_URL
    assert htmx.status_code == 200
    assert f'id="token-{second.pk}"' in htmx.content.decode() and "Revoked" in htmx.content.decode()
    assert "<html" not in htmx.content.decode()
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 2


def test_nobody_revokes_someone_elses_token(client, user, operator, make_token):
    make_token(operator, "operator-ci")
    client.force_login(user)

    response = client.post(reverse("api:token_revoke", args=[ApiToken.objects.get().pk]))

    assert response.status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_the_tokens_page_needs_csrf(user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.post(TOKENS_URL, {"name": "jenkins", "expires_in_days": "30"})

    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_the_user_menu_links_to_the_tokens_page(client, user):
    client.force_login(user)

    assert f'href="{TOKENS_URL}">API tokens</a>' in client.get("/").content.decode()


def test_revoking_from_the_page_needs_csrf(user, make_token):
    from django.test import Client

    make_token(user)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.post(reverse("api:token_revoke", args=[ApiToken.objects.get().pk]))

    assert response.status_code == 403
    assert ApiToken.objects.get().revoked_at is None


def test_a_superuser_revokes_any_token_from_the_admin(admin_client, operator, make_token):
    make_token(operator, "operator-ci")
    token = ApiToken.objects.get()

    response = admin_client.post(
        reverse("admin:api_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Revoked: operator-ci." in response.content.decode()
    assert admin_client.get(reverse("admin:api_apitoken_change", args=[token.pk])).status_code == 200


def test_making_and_revoking_a_token_is_in_the_history_without_any_part_of_the_secret(user):
    token, secret = api_token_create(user=user, name="jenkins")
    api_token_revoke(token=token, user=user)

    created, revoked = Event.objects.filter(action__startswith="api_token.").order_by("pk")
    assert (created.action, created.actor, created.object_repr) == (
        "api_token.created",
        user,
        "API token 'jenkins' of rm",
    )
    assert created.after["name"] == "jenkins" and "expires_at" in created.after
    assert (revoked.action, revoked.before, revoked.after) == (
        "api_token.revoked",
        {"revoked": False},
        {"revoked": True},
    )
    recorded = json.dumps(list(Event.objects.values("object_repr", "before", "after")))
    assert secret not in recorded and secret[3:10] not in recorded


def test_a_second_token_of_the_same_name_in_use_is_refused_as_a_reload_of_the_form_would_make_it(user, client):
    client.force_login(user)
    first = client.post(reverse("api:token_list"), {"name": "jenkins", "expires_in_days": 90})
    again = client.post(reverse("api:token_list"), {"name": "jenkins", "expires_in_days": 90})

    assert first.status_code == 201 and again.status_code == 422
    assert "You already have a token named jenkins in use" in again.content.decode()
    assert ApiToken.objects.filter(user=user, name="jenkins").count() == 1
    api_token_revoke(token=ApiToken.objects.get(user=user), user=user)
    assert api_token_create(user=user, name="jenkins")[0].name == "jenkins"  # a revoked token's name is free again
