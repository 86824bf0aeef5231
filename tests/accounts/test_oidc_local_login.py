"""Local accounts beside single sign-on (issue 12, item 1): the break-glass username and password form stays by
default, and ROLLCALL_LOCAL_LOGIN=0 takes it away, refusing any password on any login page. The OIDC settings come
from the environment only and refuse a configuration that cannot work."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.html import escape

from accounts import oidc
from config.settings import parse_role_map
from tests import oidc_provider as provider
from tests import test_deploy
from tests.accounts.test_oidc import sign_in, signed_in_as
from tests.test_deploy import manage

oidc_provider = provider.oidc_provider
production_env = test_deploy.production_env

pytestmark = pytest.mark.django_db

PASSWORD = "rollcall-test-pw"


@pytest.fixture
def local_login_off(settings, oidc_provider):
    """ROLLCALL_LOCAL_LOGIN=0 as config/settings.py reads it, with SSO on."""
    settings.ROLLCALL_LOCAL_LOGIN = False
    settings.AUTHENTICATION_BACKENDS = [
        "accounts.oidc.RoleBackendWithoutPasswords",
        "accounts.oidc.RollcallOIDCBackend",
    ]
    return oidc_provider


def test_local_login_stays_the_break_glass_way_in_beside_sso(client, oidc_provider, user):
    page = client.get(reverse("login")).content.decode()
    assert "Sign in with Test IdP" in page
    assert "Local account" in page
    assert 'name="password"' in page

    response = client.post(reverse("login"), {"username": "rm", "password": PASSWORD})

    assert response.status_code == 302
    assert signed_in_as(client) == "rm"


def test_local_login_off_hides_the_form(client, local_login_off):
    page = client.get(reverse("login")).content.decode()

    assert "Sign in with Test IdP" in page
    assert 'name="password"' not in page
    assert "Local account" not in page


def test_local_login_off_refuses_a_password_with_a_clear_message(client, local_login_off, user):
    response = client.post(reverse("login"), {"username": "rm", "password": PASSWORD})

    assert response.status_code == 403
    assert escape(oidc.LOCAL_LOGIN_OFF.format(provider="Test IdP")) in response.content.decode()
    assert signed_in_as(client) is None


def test_local_login_off_refuses_a_password_on_the_admin_login_too(client, local_login_off, admin_user):
    response = client.post("/admin/login/", {"username": "admin", "password": "password", "next": "/admin/"})

    assert response.status_code == 200
    assert "Please enter the correct username and password" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_local_login_off_an_sso_user_keeps_the_permissions_of_their_role(client, local_login_off):
    local_login_off.user["groups"] = ["rollcall-rm"]

    assert sign_in(client, local_login_off).status_code == 302

    assert client.get(reverse("clusters:cluster_create")).status_code == 200
    assert User.objects.get(username="alice").has_perm("clusters.add_cluster")


def test_the_role_map_reads_roles_as_the_readme_and_adduser_name_them():
    assert parse_role_map(" rollcall-viewers=Viewer, rollcall-ops = operator,team=a=release-manager,") == {
        "rollcall-viewers": "Viewer",
        "rollcall-ops": "Operator",
        "team=a": "Release manager",
    }


@pytest.mark.parametrize("value", ["rollcall-admins=Admin", "rollcall-ops", "=Viewer"])
def test_a_role_map_naming_no_role_is_refused_at_start(value):
    with pytest.raises(ImproperlyConfigured, match="ROLLCALL_OIDC_ROLE_MAP"):
        parse_role_map(value)


def test_sso_from_the_environment_passes_check_deploy(production_env):
    production_env.update(
        ROLLCALL_OIDC_ISSUER="https://idp.example.com/realms/ops/",
        ROLLCALL_OIDC_CLIENT_ID="rollcall",
        ROLLCALL_OIDC_CLIENT_SECRET="s3cret-not-shown",
        ROLLCALL_OIDC_ROLE_MAP="rollcall-ops=Operator",
        ROLLCALL_LOCAL_LOGIN="0",
    )

    # No provider answers at that address: the app starts all the same (discovery waits for the first sign-in).
    result = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    shown = manage(
        production_env,
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.AUTHENTICATION_BACKENDS, s.ROLLCALL_OIDC_ISSUER, s.OIDC_RP_SCOPES)",
    )
    assert shown.stdout.strip().splitlines()[-1] == (
        "['accounts.lockout.LockoutBackend', 'accounts.oidc.RoleBackendWithoutPasswords', "
        "'accounts.oidc.RollcallOIDCBackend'] "
        "https://idp.example.com/realms/ops openid email profile groups"
    )


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"ROLLCALL_LOCAL_LOGIN": "0"}, "ROLLCALL_LOCAL_LOGIN=0 needs single sign-on"),
        ({"ROLLCALL_OIDC_ISSUER": "https://idp.example.com"}, "set ROLLCALL_OIDC_CLIENT_ID and ROLLCALL_OIDC_ROLE_MAP"),
    ],
)
def test_a_configuration_that_cannot_work_is_refused_at_start(production_env, env, error):
    production_env.update(env)

    result = manage(production_env, "check")

    assert result.returncode == 1
    assert error in result.stderr
