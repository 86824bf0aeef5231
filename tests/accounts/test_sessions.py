"""Sessions (issue 12, item 4): an idle timeout and an absolute lifetime end a session at its next request, saying
why; the account page lists one's sessions and logs out the others (recorded in the audit trail); a deactivated
user's session ends at their next request. The session is written at most once a minute, not at every request."""

import csv
import html
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import SessionEnd
from accounts.models import UserSession
from accounts.permissions import RELEASE_MANAGER
from accounts.sessions import ACCOUNT_INACTIVE, SEEN_AT, SEEN_STEP, SIGNED_IN_AT
from accounts.views import OTHER_SESSIONS_ENDED
from api.services import api_token_create
from history.choices import EventAction
from history.models import Event

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-42"
HOUR = 3600
IDLE_MESSAGE = "Your session ended after 8 hours without activity — sign in again."
LIFETIME_MESSAGE = "Your session ended 24 hours after you signed in — sign in again."
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/releases/?status=active"}
LAPTOP = {"REMOTE_ADDR": "10.0.0.7", "HTTP_USER_AGENT": "Firefox on the laptop"}
PHONE = {"REMOTE_ADDR": "10.0.0.9", "HTTP_USER_AGENT": "Safari on the phone"}


@pytest.fixture
def ana(user_with_role):
    return user_with_role("ana", RELEASE_MANAGER, password=PASSWORD)


def signed_in(username="ana", **client_meta) -> Client:
    """A browser signed in through the login page (as a person does: the sign-in is recorded with its address)."""
    browser = Client(**client_meta)
    response = browser.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, "the sign-in failed"
    return browser


def shift(browser, **seconds_ago) -> None:
    """Move the session's stored times into the past: signed_in=… and/or seen=… seconds earlier."""
    session = browser.session
    if "signed_in" in seconds_ago:
        session[SIGNED_IN_AT] -= seconds_ago["signed_in"]
    if "seen" in seconds_ago:
        session[SEEN_AT] -= seconds_ago["seen"]
    session.save()


def dashboard(browser, **extra):
    return browser.get(reverse("dashboard:dashboard"), **extra)


def login_page_message(browser, response) -> str:
    """The login page the redirect leads to, as the user reads it."""
    return html.unescape(browser.get(response.url).content.decode())


# Idle timeout


def test_a_session_idle_for_longer_than_the_limit_ends_with_a_message_on_the_login_page(ana):
    browser = signed_in()
    shift(browser, signed_in=8 * HOUR + 5, seen=8 * HOUR + 5)

    response = dashboard(browser)

    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=/"
    assert IDLE_MESSAGE in login_page_message(browser, response)
    assert dashboard(browser).status_code == 302  # logged out for good, not only redirected once
    record = UserSession.objects.get(user=ana)
    assert record.ended_at is not None and record.end_reason == SessionEnd.IDLE


def test_an_idle_timeout_is_a_sign_out_in_the_audit_trail_with_its_reason(ana):
    browser = signed_in()
    shift(browser, signed_in=9 * HOUR, seen=9 * HOUR)

    dashboard(browser)

    event = Event.objects.get(action=EventAction.LOGOUT)
    assert event.actor == ana
    assert event.after["reason"] == SessionEnd.IDLE.label


def test_activity_within_the_idle_limit_keeps_the_session(ana):
    browser = signed_in()
    shift(browser, signed_in=7 * HOUR, seen=8 * HOUR - 60)

    assert dashboard(browser).status_code == 200
    assert dashboard(browser).status_code == 200


def test_an_htmx_request_of_an_idle_session_loads_the_login_page_as_a_whole_page(ana):
    browser = signed_in()
    shift(browser, signed_in=9 * HOUR, seen=9 * HOUR)

    response = browser.get(reverse("releases:release_list"), **HTMX)

    assert response.status_code == 200 and response.content == b""
    assert response["HX-Redirect"] == reverse("login") + "?next=/releases/%3Fstatus%3Dactive"
    assert IDLE_MESSAGE in html.unescape(browser.get(response["HX-Redirect"]).content.decode())


def test_the_idle_limit_is_configured_in_hours(ana, settings):
    settings.ROLLCALL_SESSION_IDLE = timedelta(hours=1)
    browser = signed_in()
    shift(browser, signed_in=HOUR + 5, seen=HOUR + 5)

    response = dashboard(browser)

    assert response.status_code == 302
    assert "Your session ended after 1 hour without activity — sign in again." in login_page_message(browser, response)


# Absolute lifetime


def test_the_lifetime_ends_a_session_however_busy(ana):
    browser = signed_in()
    shift(browser, signed_in=24 * HOUR + 5, seen=30)  # active half a minute ago

    response = dashboard(browser)

    assert response.status_code == 302
    assert LIFETIME_MESSAGE in login_page_message(browser, response)
    assert UserSession.objects.get(user=ana).end_reason == SessionEnd.LIFETIME


def test_within_its_lifetime_a_busy_session_holds(ana):
    browser = signed_in()
    shift(browser, signed_in=24 * HOUR - 60, seen=30)

    assert dashboard(browser).status_code == 200


def test_the_session_cookie_outlives_the_lifetime(settings):
    assert settings.ROLLCALL_SESSION_LIFETIME.total_seconds() <= settings.SESSION_COOKIE_AGE


# Writing the session at most once a minute


def _session_writes(queries) -> list[str]:
    return [
        query["sql"]
        for query in queries
        if ("django_session" in query["sql"] or "accounts_usersession" in query["sql"])
        and not query["sql"].lstrip().upper().startswith("SELECT")
    ]


def test_requests_within_a_minute_write_nothing_to_the_session(ana):
    browser = signed_in()
    dashboard(browser)
    before = dict(browser.session.items())

    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert dashboard(browser).status_code == 200

    assert _session_writes(queries.captured_queries) == []
    assert dict(browser.session.items()) == before


def test_a_request_a_minute_after_the_last_one_seen_writes_the_last_seen_time_once(ana):
    browser = signed_in()
    shift(browser, seen=SEEN_STEP + 5)
    stale_seen = browser.session[SEEN_AT]
    stale_record = UserSession.objects.get(user=ana).last_seen_at

    with CaptureQueriesContext(connection) as queries:
        assert dashboard(browser).status_code == 200
        assert dashboard(browser).status_code == 200

    assert len(_session_writes(queries.captured_queries)) == 2  # the record's last seen, and the session: once
    assert browser.session[SEEN_AT] >= stale_seen + SEEN_STEP
    assert UserSession.objects.get(user=ana).last_seen_at > stale_record


# Sign-in, sign-out and the account page


def test_a_sign_in_is_recorded_with_its_address_and_browser(ana):
    signed_in(**LAPTOP)

    record = UserSession.objects.get(user=ana)
    assert (record.ip, record.user_agent, record.ended_at) == ("10.0.0.7", "Firefox on the laptop", None)


def test_a_sign_out_ends_the_record(ana):
    browser = signed_in()

    browser.post(reverse("logout"))

    assert UserSession.objects.get(user=ana).end_reason == SessionEnd.SIGNED_OUT


def test_the_account_page_shows_the_user_their_role_and_sessions_this_one_marked(ana, user_with_role):
    laptop = signed_in(**LAPTOP)
    signed_in(**PHONE)
    user_with_role("bob", RELEASE_MANAGER, password=PASSWORD)
    signed_in("bob", REMOTE_ADDR="10.9.9.9", HTTP_USER_AGENT="Bob's browser")

    page = html.unescape(laptop.get(reverse("account")).content.decode())

    assert "My account" in page and "ana" in page and RELEASE_MANAGER in page
    assert "Firefox on the laptop" in page and "10.0.0.7" in page
    assert "Safari on the phone" in page and "10.0.0.9" in page
    assert "Bob's browser" not in page
    assert page.count("This session") == 1
    assert reverse("api:token_list") in page
    assert "Log out other sessions" in page


def test_the_top_bar_links_the_username_to_the_account_page(ana):
    page = dashboard(signed_in()).content.decode()

    assert f'<a href="{reverse("account")}" title="My account">ana</a>' in page


# Log out other sessions


def test_logging_out_other_sessions_ends_them_and_keeps_this_one(ana):
    laptop = signed_in(**LAPTOP)
    phone = signed_in(**PHONE)
    tablet = signed_in()

    response = laptop.post(reverse("account_sessions_end_others"), **HTMX, **LAPTOP)

    assert response.status_code == 200
    fragment = html.unescape(response.content.decode())
    assert 'id="sessions"' in fragment and "<html" not in fragment  # the sessions card, not the page
    assert OTHER_SESSIONS_ENDED.format(count=2) in fragment
    assert "Safari on the phone" not in fragment and "Firefox on the laptop" in fragment
    assert dashboard(laptop).status_code == 200
    assert dashboard(phone).status_code == 302 and dashboard(phone).url.startswith(reverse("login"))
    htmx_answer = tablet.get(reverse("releases:release_list"), **HTMX)
    assert htmx_answer["HX-Redirect"].startswith(reverse("login"))
    ended = UserSession.objects.filter(user=ana, end_reason=SessionEnd.ENDED_ELSEWHERE)
    assert ended.count() == 2


def test_logging_out_other_sessions_without_htmx_comes_back_to_the_account_page(ana):
    laptop = signed_in()
    phone = signed_in()

    response = laptop.post(reverse("account_sessions_end_others"))

    assert response.status_code == 302 and response.url == reverse("account")
    assert OTHER_SESSIONS_ENDED.format(count=1) in html.unescape(laptop.get(response.url).content.decode())
    assert dashboard(phone).status_code == 302


def test_logging_out_other_sessions_leaves_other_users_alone(ana, user_with_role):
    user_with_role("bob", RELEASE_MANAGER, password=PASSWORD)
    bob = signed_in("bob")

    signed_in().post(reverse("account_sessions_end_others"))

    assert dashboard(bob).status_code == 200


def test_a_session_older_than_the_records_is_logged_out_too(ana):
    laptop = signed_in()
    old = Client()
    old.force_login(ana)
    UserSession.objects.filter(session_key=old.session.session_key).delete()  # as before the records existed

    laptop.post(reverse("account_sessions_end_others"))

    assert dashboard(old).status_code == 302


def test_logging_out_other_sessions_is_on_the_audit_page_and_in_the_csv_with_ip_and_user_agent(ana):
    laptop = signed_in(**LAPTOP)
    signed_in(**PHONE)

    laptop.post(reverse("account_sessions_end_others"), **LAPTOP)

    page = html.unescape(laptop.get(reverse("audit:audit"), {"action": EventAction.SESSIONS_ENDED}).content.decode())
    assert "Other sessions logged out" in page and "User ana" in page
    assert "ip: 10.0.0.7" in page and "user_agent: Firefox on the laptop" in page
    export = laptop.get(reverse("audit:audit_export"), {"action": EventAction.SESSIONS_ENDED})
    [row] = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))[1:]
    assert row[1:4] == ["ana", EventAction.SESSIONS_ENDED.value, "Other sessions logged out"]
    assert json.loads(row[9]) == {"sessions": 1, "ip": "10.0.0.7", "user_agent": "Firefox on the laptop"}


def test_logging_out_other_sessions_needs_the_csrf_token(ana):
    phone = signed_in()
    laptop = Client(enforce_csrf_checks=True)
    laptop.force_login(ana)

    response = laptop.post(reverse("account_sessions_end_others"))

    assert response.status_code == 403
    assert dashboard(phone).status_code == 200
    assert not Event.objects.filter(action=EventAction.SESSIONS_ENDED).exists()


def test_logging_out_other_sessions_is_a_post(ana):
    assert signed_in().get(reverse("account_sessions_end_others")).status_code == 405


# Deactivation


@pytest.fixture
def deactivated_session(ana):
    browser = signed_in()
    assert dashboard(browser).status_code == 200
    ana.is_active = False
    ana.save()
    return browser


def test_a_deactivated_user_is_logged_out_at_their_next_request(deactivated_session, ana):
    response = dashboard(deactivated_session)

    assert response.status_code == 302
    assert ACCOUNT_INACTIVE in login_page_message(deactivated_session, response)
    assert SESSION_KEY not in deactivated_session.session
    assert UserSession.objects.get(user=ana).end_reason == SessionEnd.ACCOUNT_INACTIVE


def test_a_deactivated_users_htmx_request_loads_the_login_page(deactivated_session):
    response = deactivated_session.get(reverse("releases:release_list"), **HTMX)

    assert response["HX-Redirect"].startswith(reverse("login"))


def test_a_deactivated_users_api_request_with_the_session_is_refused(deactivated_session):
    response = deactivated_session.get("/api/clusters/")

    assert response.status_code in (401, 403)
    assert SESSION_KEY not in deactivated_session.session


def test_a_deactivated_user_deactivated_in_the_admin_is_logged_out(ana, user_with_role, django_user_model):
    browser = signed_in()
    admin = Client()
    admin.force_login(django_user_model.objects.create_superuser("root", password=PASSWORD))
    change_url = reverse("admin:auth_user_change", args=[ana.pk])
    form = {
        "username": "ana",
        "is_active": "",
        "groups": [group.pk for group in ana.groups.all()],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "09:00:00",
    }

    assert admin.post(change_url, form).status_code == 302

    assert dashboard(browser).status_code == 302


# The API with a session, and with a token


def test_an_idle_sessions_api_request_is_answered_as_without_a_session(ana):
    browser = signed_in()
    shift(browser, signed_in=9 * HOUR, seen=9 * HOUR)

    response = browser.get("/api/clusters/")

    assert response.status_code in (401, 403)
    assert SESSION_KEY not in browser.session


def test_an_api_token_request_is_no_session(ana):
    _, secret = api_token_create(user=ana, name="pipeline")

    response = Client().get("/api/clusters/", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert response.status_code == 200
    assert not UserSession.objects.exists()
