"""Single sign-on with OpenID Connect (issue 12, item 1) against a real provider on 127.0.0.1 (tests/oidc_provider.py):
authorization code with PKCE, an RS256 ID token checked against the JWKS, groups mapped to roles at every sign-in,
and each refusal on a page saying why, with nothing changed."""

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.models import Group, User
from django.contrib.auth.signals import user_login_failed
from django.urls import reverse
from django.utils.html import escape

from accounts import oidc
from accounts.permissions import OPERATOR, RELEASE_MANAGER, VIEWER
from tests import oidc_provider as provider
from tests.oidc_provider import rsa_key

oidc_provider = provider.oidc_provider

pytestmark = pytest.mark.django_db


def sign_in(client, provider, next_url: str = ""):
    """Click "Sign in with …", let the provider send the browser back, and answer what the callback answers."""
    start = client.get(reverse("oidc_authentication_init"), {"next": next_url} if next_url else {})
    assert start.status_code == 302, start.content
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def shows(response, message: str) -> bool:
    """The page says `message` (as HTML writes it)."""
    return escape(message) in response.content.decode()


def roles_of(username: str) -> set[str]:
    return set(User.objects.get(username=username).groups.values_list("name", flat=True))


def signed_in_as(client) -> str | None:
    response = client.get(reverse("dashboard:dashboard"))
    return response.wsgi_request.user.get_username() if response.status_code == 200 else None


def test_sign_in_creates_the_user_with_the_role_of_their_group(client, oidc_provider):
    oidc_provider.user["groups"] = ["rollcall-ops", "staff"]

    response = sign_in(client, oidc_provider, next_url="/releases/")

    assert response.status_code == 302
    assert response["Location"] == "/releases/"
    assert signed_in_as(client) == "alice"
    alice = User.objects.get(username="alice")
    assert alice.email == "alice@example.com"
    assert not alice.has_usable_password()
    assert roles_of("alice") == {OPERATOR}


def test_the_provider_saw_pkce_s256_and_the_verifier_matching_it(client, oidc_provider):
    oidc_provider.user["groups"] = ["rollcall-viewers"]

    start = client.get(reverse("oidc_authentication_init"))
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["openid email profile groups"]
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(at_provider.headers["Location"])
    assert client.get(f"{back.path}?{back.query}").status_code == 302

    [token_request] = oidc_provider.token_requests
    assert len(token_request["code_verifier"]) >= 43
    assert signed_in_as(client) == "alice"


def test_a_code_verifier_that_does_not_match_the_challenge_is_refused(client, oidc_provider):
    oidc_provider.user["groups"] = ["rollcall-rm"]
    start = client.get(reverse("oidc_authentication_init"))
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    session = client.session
    [state] = session["oidc_states"]
    session["oidc_states"][state]["code_verifier"] = "another-verifier-" + "x" * 40
    session.save()

    back = urlsplit(at_provider.headers["Location"])
    response = client.get(f"{back.path}?{back.query}")

    assert response.status_code == 403
    assert shows(response, oidc.CODE_REFUSED.format(error="invalid_grant"))
    assert not User.objects.exists()


def test_the_highest_mapped_role_wins(client, oidc_provider):
    oidc_provider.user["groups"] = ["rollcall-viewers", "rollcall-rm", "rollcall-ops"]

    sign_in(client, oidc_provider)

    assert roles_of("alice") == {RELEASE_MANAGER}


def test_the_role_is_evaluated_again_at_every_sign_in(client, oidc_provider, user_with_role):
    alice = user_with_role("alice", RELEASE_MANAGER)
    alice.groups.add(Group.objects.create(name="on-call"))
    oidc_provider.user["groups"] = ["rollcall-viewers"]

    sign_in(client, oidc_provider)

    # The role groups are replaced; a group that is no role stays.
    assert roles_of("alice") == {VIEWER, "on-call"}
    assert User.objects.count() == 1
    client.logout()
    oidc_provider.user["groups"] = ["rollcall-ops"]
    sign_in(client, oidc_provider)
    assert roles_of("alice") == {OPERATOR, "on-call"}


def test_a_user_without_a_mapped_group_is_refused_and_not_created(client, oidc_provider):
    oidc_provider.user["groups"] = ["staff", "everyone"]

    response = sign_in(client, oidc_provider)

    assert response.status_code == 403
    assert shows(
        response, oidc.NO_MAPPED_GROUP.format(username="alice", groups="rollcall-ops, rollcall-rm, rollcall-viewers")
    )
    assert "Sign-in refused" in response.content.decode()
    assert not User.objects.filter(username="alice").exists()
    assert signed_in_as(client) is None


def test_a_refusal_is_announced_as_a_failed_login_with_the_username(client, oidc_provider):
    oidc_provider.user["groups"] = ["staff"]
    failures = []

    def listen(sender, credentials, request, **kwargs):
        failures.append((credentials, request.path, kwargs.get("reason")))

    user_login_failed.connect(listen)
    try:
        sign_in(client, oidc_provider)
    finally:
        user_login_failed.disconnect(listen)

    [(credentials, path, reason)] = failures
    assert credentials == {"username": "alice"}
    assert path == reverse("oidc_authentication_callback")
    assert reason.startswith("Your account (alice) is in none of the groups")


def test_an_existing_user_who_lost_their_group_is_refused_and_keeps_everything(client, oidc_provider, user_with_role):
    user_with_role("alice", OPERATOR)
    oidc_provider.user["groups"] = ["staff"]

    response = sign_in(client, oidc_provider)

    assert response.status_code == 403
    assert roles_of("alice") == {OPERATOR}
    assert signed_in_as(client) is None


def test_a_missing_group_claim_is_refused(client, oidc_provider):
    del oidc_provider.user["groups"]

    response = sign_in(client, oidc_provider)

    assert response.status_code == 403
    assert shows(response, oidc.NO_GROUPS_CLAIM.format(claim="groups"))
    assert not User.objects.exists()


def test_the_groups_claim_and_the_username_claim_are_configurable(client, oidc_provider, settings):
    settings.ROLLCALL_OIDC_GROUPS_CLAIM = "realm_access.roles"
    settings.ROLLCALL_OIDC_USERNAME_CLAIM = "upn"
    oidc_provider.user.update(upn="alice.smith", realm_access={"roles": ["rollcall-rm"]})

    assert sign_in(client, oidc_provider).status_code == 302

    assert roles_of("alice.smith") == {RELEASE_MANAGER}
    assert signed_in_as(client) == "alice.smith"


def test_without_the_username_claim_the_email_names_the_user(client, oidc_provider):
    del oidc_provider.user["preferred_username"]
    oidc_provider.user["groups"] = ["rollcall-viewers"]

    assert sign_in(client, oidc_provider).status_code == 302

    assert signed_in_as(client) == "alice@example.com"


@pytest.mark.parametrize(
    ("spoil", "refusal"),
    [
        ("wrong_audience", oidc.WRONG_AUDIENCE),
        ("expired", oidc.EXPIRED),
        ("bad_signature", oidc.BAD_SIGNATURE),
        ("wrong_issuer", oidc.WRONG_ISSUER),
    ],
)
def test_an_id_token_that_does_not_verify_is_refused(client, oidc_provider, spoil, refusal):
    oidc_provider.user["groups"] = ["rollcall-rm"]
    if spoil == "wrong_audience":
        oidc_provider.id_token_changes = {"aud": "another-app"}
    elif spoil == "expired":
        oidc_provider.id_token_changes = {"exp": 1_000_000_000, "iat": 999_999_000}
    elif spoil == "bad_signature":
        oidc_provider.sign_with = rsa_key("someone-else")
    else:
        oidc_provider.id_token_changes = {"iss": "https://idp.example.com"}

    response = sign_in(client, oidc_provider)

    assert response.status_code == 403
    assert shows(response, refusal)
    assert not User.objects.exists()
    assert signed_in_as(client) is None


def test_a_deactivated_user_is_refused(client, oidc_provider, user_with_role):
    alice = user_with_role("alice", VIEWER)
    alice.is_active = False
    alice.save()
    oidc_provider.user["groups"] = ["rollcall-rm"]

    response = sign_in(client, oidc_provider)

    assert response.status_code == 403
    assert shows(response, oidc.DEACTIVATED.format(username="alice"))
    assert roles_of("alice") == {VIEWER}


def test_an_administrator_account_is_not_signed_in_through_the_provider(client, oidc_provider, admin_user):
    oidc_provider.user.update(preferred_username="admin", groups=["rollcall-rm"])

    response = sign_in(client, oidc_provider)

    assert response.status_code == 403
    assert shows(response, oidc.ADMIN_ACCOUNT.format(username="admin", provider="Test IdP"))
    assert not admin_user.groups.exists()
    assert signed_in_as(client) is None


def test_a_next_page_elsewhere_is_not_followed(client, oidc_provider):
    oidc_provider.user["groups"] = ["rollcall-viewers"]

    response = sign_in(client, oidc_provider, next_url="https://evil.example.com/")

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:dashboard")


def test_a_code_used_twice_is_refused(client, oidc_provider):
    oidc_provider.user["groups"] = ["rollcall-rm"]
    start = client.get(reverse("oidc_authentication_init"))
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(at_provider.headers["Location"])
    assert client.get(f"{callback.path}?{callback.query}").status_code == 302
    client.logout()

    replay = client.get(f"{callback.path}?{callback.query}")

    assert replay.status_code == 403
    assert shows(replay, oidc.STALE_SIGN_IN)
    assert signed_in_as(client) is None


def test_the_providers_own_refusal_is_shown(client, oidc_provider):
    client.get(reverse("oidc_authentication_init"))

    response = client.get(
        reverse("oidc_authentication_callback"), {"error": "access_denied", "error_description": "User said no"}
    )

    assert response.status_code == 403
    assert shows(response, oidc.PROVIDER_ERROR.format(error="User said no"))


def test_an_unreachable_provider_is_answered_503_and_local_login_still_works(client, oidc_provider, user):
    oidc.forget_discovery()
    oidc_provider.__exit__()

    response = client.get(reverse("oidc_authentication_init"))

    assert response.status_code == 503
    assert shows(response, oidc.UNREACHABLE.format(issuer=oidc_provider.issuer))
    local = client.post(reverse("login"), {"username": "rm", "password": "rollcall-test-pw"})
    assert local.status_code == 302
    assert signed_in_as(client) == "rm"


def test_the_discovery_document_is_read_lazily_and_once(client, oidc_provider, user):
    client.post(reverse("login"), {"username": "rm", "password": "rollcall-test-pw"})
    assert oidc_provider.requests == []
    client.logout()
    oidc_provider.user["groups"] = ["rollcall-ops"]

    sign_in(client, oidc_provider)
    client.logout()
    sign_in(client, oidc_provider)

    assert oidc_provider.requests.count("GET /.well-known/openid-configuration") == 1


def test_no_token_code_or_secret_reaches_the_log(client, oidc_provider, caplog):
    oidc_provider.user["groups"] = ["rollcall-rm"]

    with caplog.at_level(logging.DEBUG):
        sign_in(client, oidc_provider)
        oidc_provider.id_token_changes = {"aud": "another-app"}
        client.logout()
        sign_in(client, oidc_provider)

    assert len(oidc_provider.issued_tokens) == 4
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "SSO sign-in: alice as Release manager" in logged
    for secret in [oidc_provider.client_secret, *oidc_provider.issued_tokens]:
        assert secret not in logged
    assert all(key not in client.session for key in ("oidc_id_token", "oidc_access_token"))


def test_the_oidc_routes_answer_404_while_sso_is_off(client, settings):
    settings.ROLLCALL_OIDC_ISSUER = ""

    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    assert client.get(reverse("oidc_authentication_callback"), {"code": "x", "state": "y"}).status_code == 404
    assert b"Sign in with" not in client.get(reverse("login")).content


def test_the_login_page_offers_the_provider_and_keeps_the_next_page(client, oidc_provider):
    page = client.get(reverse("login"), {"next": "/releases/"}).content.decode()

    assert 'href="/oidc/authenticate/?next=/releases/"' in page
    assert "Sign in with Test IdP" in page
    assert 'name="password"' in page
