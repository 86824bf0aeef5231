"""Authentication in the audit trail (issue 12, item 5): sign-ins and failures (with the username tried), lockouts and
unlocks, sign-outs, role or group changes and users activated or deactivated are events on the audit page and in its
CSV, with the IP and user agent of the request; no password, no session key anywhere."""

import csv
import html
import io
import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import OPERATOR, RELEASE_MANAGER, VIEWER
from history.choices import EventAction
from history.models import SYSTEM_ACTOR, Event
from tests import oidc_provider as provider

oidc_provider = provider.oidc_provider

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-42"
WRONG = "a-wrong-guess-77"
IP = "10.1.2.3"
AGENT = "Mozilla/5.0 (X11; Linux) Firefox/140.0 rollcall-test"
FROM_CLIENT = {"REMOTE_ADDR": IP, "HTTP_USER_AGENT": AGENT}


@pytest.fixture
def ana(user_with_role):
    return user_with_role("ana", OPERATOR, password=PASSWORD)


@pytest.fixture
def auditor(user_with_role):
    """A release manager reading the audit log (signed in without a request of their own: no event)."""
    client = Client()
    client.force_login(user_with_role("rm", RELEASE_MANAGER))
    return client


def sign_in(client, password=PASSWORD, username="ana"):
    return client.post(reverse("login"), {"username": username, "password": password}, **FROM_CLIENT)


def audit_page(auditor, action) -> str:
    return html.unescape(auditor.get(reverse("audit:audit"), {"action": action}).content.decode())


def csv_rows(auditor, action) -> list[list[str]]:
    response = auditor.get(reverse("audit:audit_export"), {"action": action})
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]


def test_a_sign_in_is_on_the_audit_page_and_in_the_csv_with_ip_and_user_agent(client, ana, auditor):
    assert sign_in(client).status_code == 302

    page = audit_page(auditor, EventAction.LOGIN)
    assert "Signed in" in page and "User ana" in page
    assert f"ip: {IP}" in page and f"user_agent: {AGENT}" in page
    [row] = csv_rows(auditor, EventAction.LOGIN)
    assert row[1:4] == ["ana", "auth.login", "Signed in"]
    assert row[7] == "User ana"
    assert json.loads(row[9]) == {"ip": IP, "user_agent": AGENT}


def test_a_failed_sign_in_names_the_username_tried_and_never_the_password(client, ana, auditor):
    sign_in(client, WRONG)
    sign_in(client, WRONG, username="nobody-here")

    page = audit_page(auditor, EventAction.LOGIN_FAILED)
    assert page.count("Sign-in failed") >= 2
    assert "username: nobody-here" in page and f"ip: {IP}" in page and f"user_agent: {AGENT}" in page
    rows = csv_rows(auditor, EventAction.LOGIN_FAILED)
    assert [(row[1], row[2], json.loads(row[9])["username"]) for row in rows] == [
        (SYSTEM_ACTOR, "auth.login_failed", "nobody-here"),
        (SYSTEM_ACTOR, "auth.login_failed", "ana"),
    ]
    assert json.loads(rows[0][9]) == {"username": "nobody-here", "ip": IP, "user_agent": AGENT}
    everything = json.dumps(list(Event.objects.values()), default=str)
    assert WRONG not in everything and WRONG not in page
    assert WRONG not in str(csv_rows(auditor, ""))


def test_the_fifth_failure_is_one_lockout_and_an_unlock_by_command_is_recorded(client, ana, auditor):
    for _ in range(6):
        sign_in(client, WRONG)

    [lockout] = csv_rows(auditor, EventAction.LOCKED_OUT)
    assert lockout[2:4] == ["auth.locked_out", "Locked out"]
    assert json.loads(lockout[9]) == {"username": "ana", "ip": IP, "user_agent": AGENT, "minutes": 15}
    assert len(csv_rows(auditor, EventAction.LOGIN_FAILED)) == 6

    call_command("unlock", "ana")

    [unlock] = csv_rows(auditor, EventAction.UNLOCKED)
    assert unlock[1:4] == [SYSTEM_ACTOR, "auth.unlocked", "Unlocked"]
    assert json.loads(unlock[8]) == {"username": "ana", "ip": IP, "failures": 6}
    assert "Locked out" in audit_page(auditor, EventAction.LOCKED_OUT)
    assert "Unlocked" in audit_page(auditor, EventAction.UNLOCKED)


def test_an_unlock_in_the_admin_names_the_administrator(client, ana, admin_client, auditor):
    for _ in range(5):
        sign_in(client, WRONG)
    admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "unlock_selected", "_selected_action": [AccessAttempt.objects.get().pk]},
    )

    [unlock] = csv_rows(auditor, EventAction.UNLOCKED)
    assert unlock[1] == "admin"


def test_a_cool_off_that_ends_by_itself_is_no_unlock(client, ana, auditor):
    for _ in range(5):
        sign_in(client, WRONG)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert sign_in(client).status_code == 302

    assert csv_rows(auditor, EventAction.UNLOCKED) == []


def test_a_sign_out_is_recorded(client, ana, auditor):
    sign_in(client)
    client.post(reverse("logout"), **FROM_CLIENT)

    [row] = csv_rows(auditor, EventAction.LOGOUT)
    assert row[1:4] == ["ana", "auth.logout", "Signed out"]
    assert json.loads(row[9]) == {"ip": IP, "user_agent": AGENT}
    assert "Signed out" in audit_page(auditor, EventAction.LOGOUT)


def test_no_session_key_reaches_an_event(client, ana):
    sign_in(client)
    session_key = client.session.session_key
    assert session_key
    client.post(reverse("logout"), **FROM_CLIENT)

    assert session_key not in json.dumps(list(Event.objects.values()), default=str)


def test_a_role_change_by_adduser_says_from_what_to_what(ana, auditor):
    call_command("adduser", "ana", "--role", "viewer", "--update", stdout=io.StringIO())

    [row] = csv_rows(auditor, EventAction.GROUPS_CHANGED)
    assert row[1:4] == [SYSTEM_ACTOR, "auth.groups_changed", "Role or groups changed"]
    assert (json.loads(row[8]), json.loads(row[9])) == ({"groups": [OPERATOR]}, {"groups": [VIEWER]})
    assert f'groups: ["{OPERATOR}"] → ["{VIEWER}"]' in audit_page(auditor, EventAction.GROUPS_CHANGED)


def test_adduser_without_a_change_of_role_records_nothing(ana, auditor):
    call_command("adduser", "ana", "--role", "operator", "--update", stdout=io.StringIO())

    assert csv_rows(auditor, EventAction.GROUPS_CHANGED) == []


def _admin_change(admin_client, user, **changes):
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "groups": [group.pk for group in user.groups.all()],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        **changes,
    }
    data = {key: value for key, value in data.items() if value is not None}
    response = admin_client.post(reverse("admin:auth_user_change", args=[user.pk]), data, **FROM_CLIENT)
    assert response.status_code == 302, response.content.decode()


def test_a_role_change_in_the_admin_names_who_changed_whose_role(ana, admin_client, auditor):
    _admin_change(admin_client, ana, groups=[Group.objects.get(name=RELEASE_MANAGER).pk])

    [row] = csv_rows(auditor, EventAction.GROUPS_CHANGED)
    assert row[1] == "admin" and row[7] == "User ana"
    assert json.loads(row[8]) == {"groups": [OPERATOR]}
    assert json.loads(row[9]) == {"groups": [RELEASE_MANAGER], "ip": IP, "user_agent": AGENT}


def test_deactivating_and_activating_a_user_are_recorded(ana, admin_client, auditor):
    _admin_change(admin_client, ana, is_active=None)
    ana.refresh_from_db()
    assert not ana.is_active
    _admin_change(admin_client, ana)

    [activated] = csv_rows(auditor, EventAction.USER_ACTIVATED)
    [deactivated] = csv_rows(auditor, EventAction.USER_DEACTIVATED)
    assert deactivated[1:4] == ["admin", "auth.user_deactivated", "User deactivated"]
    assert (json.loads(deactivated[8]), json.loads(deactivated[9])) == (
        {"is_active": True},
        {"is_active": False, "ip": IP, "user_agent": AGENT},
    )
    assert activated[1:4] == ["admin", "auth.user_activated", "User activated"]
    assert csv_rows(auditor, EventAction.GROUPS_CHANGED) == []
    page = audit_page(auditor, EventAction.USER_DEACTIVATED)
    assert "User deactivated" in page and "is_active: true → false" in page


def test_a_single_sign_on_records_the_sign_in_and_the_role_it_gave(client, oidc_provider, user_with_role, auditor):
    user_with_role("alice", RELEASE_MANAGER)
    oidc_provider.user["groups"] = ["rollcall-viewers"]

    start = client.get(reverse("oidc_authentication_init"), **FROM_CLIENT)
    back = urlsplit(requests.get(start["Location"], allow_redirects=False, timeout=5).headers["Location"])
    assert client.get(f"{back.path}?{back.query}", **FROM_CLIENT).status_code == 302

    [change] = csv_rows(auditor, EventAction.GROUPS_CHANGED)
    assert change[1] == f"{SYSTEM_ACTOR} via single sign-on"
    assert (json.loads(change[8]), json.loads(change[9])) == (
        {"groups": [RELEASE_MANAGER]},
        {"groups": [VIEWER], "ip": IP, "user_agent": AGENT},
    )
    [login] = csv_rows(auditor, EventAction.LOGIN)
    assert login[1] == "alice" and json.loads(login[9]) == {"ip": IP, "user_agent": AGENT}
    assert User.objects.get(username="alice").groups.get().name == VIEWER


def test_an_unlock_by_axes_own_command_is_recorded_too(client, ana, auditor):
    for _ in range(5):
        sign_in(client, WRONG)

    call_command("axes_reset_username", "ana", stdout=io.StringIO())

    [unlock] = csv_rows(auditor, EventAction.UNLOCKED)
    assert json.loads(unlock[8]) == {"username": "ana", "ip": IP, "failures": 5}
    assert sign_in(client).status_code == 302


def test_authentication_events_stay_out_of_the_dashboards_recent_activity(client, ana, auditor):
    sign_in(client, WRONG)
    sign_in(client)
    call_command("adduser", "ana", "--role", "viewer", "--update", stdout=io.StringIO())
    assert Event.objects.count() == 3

    page = auditor.get(reverse("dashboard:dashboard")).content.decode()

    assert "Signed in" not in page and "Sign-in failed" not in page and "Role or groups changed" not in page
