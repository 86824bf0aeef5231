"""Single sign-on in Chromium (issue 12, item 1): from the login page through the test provider on 127.0.0.1 and back,
signed in with the role of the provider's group; then a user whose groups give no role sees why they are refused."""

import re

from django.contrib.auth.models import User
from playwright.sync_api import expect

from accounts.permissions import OPERATOR
from tests import oidc_provider as provider

oidc_provider = provider.oidc_provider


def test_sign_in_with_the_provider_and_be_refused_without_a_mapped_group(page, live_server, oidc_provider):
    oidc_provider.consent_page = True
    oidc_provider.user["groups"] = ["rollcall-ops"]

    page.goto(f"{live_server.url}/releases/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    page.get_by_role("link", name="Sign in with Test IdP").click()
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    assert page.url.startswith(oidc_provider.issuer)
    page.get_by_role("button", name="Continue as alice").click()

    expect(page).to_have_url(f"{live_server.url}/releases/")
    expect(page.locator("body")).to_contain_text("alice")
    assert set(User.objects.get(username="alice").groups.values_list("name", flat=True)) == {OPERATOR}
    assert [request for request in oidc_provider.requests if request.startswith("POST")] == [
        "POST /authorize",
        "POST /token",
    ]

    page.context.clear_cookies()
    oidc_provider.user = {"sub": "u-2", "preferred_username": "bob", "groups": ["contractors"]}
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.get_by_role("button", name="Continue as bob").click()

    expect(page.get_by_role("heading", name="Sign-in refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("is in none of the groups that give a role in Rollcall")
    assert not User.objects.filter(username="bob").exists()
    page.get_by_role("link", name="Back to the login page").click()
    expect(page.get_by_role("link", name="Sign in with Test IdP")).to_be_visible()
