"""Brute-force lockout (issue 12, item 2): five wrong passwords for one username from one address lock that pair for
the cool-off, with a page saying until when; the admin's action and `manage.py unlock` lift it; X-Forwarded-For
names the address only when DJANGO_SECURE trusts the proxy; a refused single sign-on is no password guess."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.signals import user_login_failed
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import OPERATOR

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-42"
LOGIN = reverse("login")


@pytest.fixture
def ana(user_with_role):
    return user_with_role("ana", OPERATOR, password=PASSWORD)


def attempt(client, password="wrong-guess", username="ana", **headers):
    return client.post(LOGIN, {"username": username, "password": password}, **headers)


def fail(client, times, **headers):
    for _ in range(times):
        response = attempt(client, **headers)
    return response


def signed_in(response) -> bool:
    return response.status_code == 302 and response.wsgi_request.user.is_authenticated


def test_four_wrong_passwords_only_say_the_password_is_wrong(client, ana):
    response = fail(client, 4)

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert signed_in(attempt(client, PASSWORD))


def test_the_fifth_locks_the_pair_with_a_page_saying_until_when(client, ana):
    response = fail(client, 5)

    page = response.content.decode()
    assert response.status_code == 429
    assert "Too many failed sign-ins" in page
    assert "<strong>ana</strong> is locked from your address for 15 minutes" in page
    retry = timezone.localtime(AccessAttempt.objects.get().attempt_time + timedelta(minutes=15))
    assert f'Try again after <time datetime="{retry.isoformat()}' in page
    # Even the right password is refused now, and nobody is signed in.
    locked = attempt(client, PASSWORD)
    assert locked.status_code == 429
    assert not locked.wsgi_request.user.is_authenticated


def test_the_lock_holds_that_username_from_that_address_only(client, ana, user_with_role):
    user_with_role("bo", OPERATOR, password=PASSWORD)
    fail(client, 5)

    assert signed_in(attempt(client, PASSWORD, REMOTE_ADDR="10.9.8.7"))
    assert signed_in(attempt(client, PASSWORD, username="bo"))


def test_the_lock_ends_with_the_cool_off(client, ana):
    fail(client, 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))

    assert signed_in(attempt(client, PASSWORD))


def test_the_limit_and_cool_off_come_from_the_settings(client, ana, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=3)

    response = fail(client, 2)

    assert response.status_code == 429
    assert "for 3 minutes" in response.content.decode()


def test_manage_py_unlock_lifts_the_lock(client, ana):
    fail(client, 5)

    call_command("unlock", "ana")

    assert not AccessAttempt.objects.exists()
    assert signed_in(attempt(client, PASSWORD))


def test_manage_py_unlock_of_one_address_keeps_the_others(client, ana):
    fail(client, 5)
    fail(client, 5, REMOTE_ADDR="10.9.8.7")

    call_command("unlock", "ana", "--ip", "10.9.8.7")

    assert signed_in(attempt(client, PASSWORD, REMOTE_ADDR="10.9.8.7"))
    assert attempt(client, PASSWORD).status_code == 429


def test_manage_py_unlock_of_nobody_locked_says_so(ana):
    with pytest.raises(CommandError, match="No failed sign-in recorded for ana: nothing to unlock"):
        call_command("unlock", "ana")


def test_the_admin_lists_the_lockouts_and_its_action_unlocks(client, admin_client, ana):
    fail(client, 5)
    changelist = reverse("admin:axes_accessattempt_changelist")

    listed = admin_client.get(changelist)
    assert "ana" in listed.content.decode()
    assert "Unlock the selected usernames and addresses" in listed.content.decode()

    response = admin_client.post(
        changelist,
        {"action": "unlock_selected", "_selected_action": [AccessAttempt.objects.get().pk]},
        follow=True,
    )

    assert "1 lockout record(s) removed" in response.content.decode()
    assert signed_in(attempt(client, PASSWORD))
    # Successful sign-ins are listed too.
    assert "ana" in admin_client.get(reverse("admin:axes_accesslog_changelist")).content.decode()


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(client, ana, settings):
    settings.ROLLCALL_TRUST_X_FORWARDED_FOR = False
    for number in range(5):
        attempt(client, HTTP_X_FORWARDED_FOR=f"203.0.113.{number}")

    # A new forwarded address each time changed nothing: the lock is on the connection's address.
    assert attempt(client, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429
    assert AccessAttempt.objects.get().ip_address == "127.0.0.1"


def test_behind_a_trusted_proxy_the_address_it_added_is_the_clients(client, ana, settings):
    settings.ROLLCALL_TRUST_X_FORWARDED_FOR = True
    # The client may send an X-Forwarded-For of its own: only the last entry, the proxy's, is believed.
    fail(client, 5, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")

    assert AccessAttempt.objects.get().ip_address == "198.51.100.7"
    assert attempt(client, PASSWORD, HTTP_X_FORWARDED_FOR="9.9.9.9, 198.51.100.7").status_code == 429
    assert signed_in(attempt(client, PASSWORD, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.8"))


def test_a_refused_single_sign_on_is_not_a_password_guess(ana):
    request = RequestFactory().get(reverse("login"))
    for _ in range(10):
        user_login_failed.send(sender="accounts.oidc", credentials={"username": "ana"}, request=request)

    assert not AccessAttempt.objects.exists()


def test_no_password_is_kept_by_the_lockout(client, ana):
    fail(client, 5)

    [row] = AccessAttempt.objects.values()
    assert "wrong-guess" not in str(row)
