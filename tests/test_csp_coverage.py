"""Issue 12, item 3 "Strict Content-Security-Policy", without a browser: every response carries the policy,
Cross-Origin-Opener-Policy and Permissions-Policy; ROLLCALL_CSP_REPORT_ONLY=1 sends the policy as Report-Only; and
every named route is either visited by the browser test (tests/browser/test_csp.py) or said to be no page, so that
a page a later issue adds cannot escape it."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.urls import URLResolver, get_resolver, reverse

from tests.browser.test_csp import FAMILIES, NOT_PAGES, PAGES, VISITED_TOO

ROOT = Path(__file__).resolve().parent.parent


def named_routes() -> set[str]:
    """Every route's name as reverse() takes it (namespace:name)."""

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace and (f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace)
                yield from walk(pattern.url_patterns, inner or namespace)
            elif pattern.name:
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name

    return set(walk(get_resolver().url_patterns, ""))


def policy(header: str) -> dict[str, str]:
    return {part.split()[0]: " ".join(part.split()[1:]) for part in header.split(";") if part.strip()}


def test_every_named_route_is_visited_by_the_browser_test_or_said_to_be_no_page():
    accounted = set(PAGES) | set(VISITED_TOO) | set(NOT_PAGES)
    forgotten = sorted(
        name for name in named_routes() if name not in accounted and not any(match(name) for match, _ in FAMILIES)
    )
    assert not forgotten, (
        "Routes neither visited by tests/browser/test_csp.py (PAGES, VISITED_TOO) nor listed there as no page "
        f"(NOT_PAGES, with why): {forgotten}"
    )


def test_the_lists_name_only_routes_that_exist_each_once_with_a_one_line_reason():
    routes = named_routes()
    listed = [*PAGES, *VISITED_TOO, *NOT_PAGES]
    assert sorted(set(listed) - routes) == []
    assert len(listed) == len(set(listed))
    reasons = [*VISITED_TOO.values(), *NOT_PAGES.values(), *(reason for _, reason in FAMILIES)]
    assert all(reason.strip() and "\n" not in reason for reason in reasons)
    # A family answers for routes that exist, and the browser test visits one of each.
    for match, reason in FAMILIES:
        assert any(match(name) for name in routes), reason
        assert any(match(name) for name in PAGES), reason


def test_a_page_carries_the_strict_policy_coop_and_permissions_policy(client, db):
    response = client.get(reverse("login"))

    assert policy(response["Content-Security-Policy"]) == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    assert "Content-Security-Policy-Report-Only" not in response
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    features = dict(item.split("=") for item in response["Permissions-Policy"].split(", "))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "serial", "hid", "midi"):
        assert features[feature] == "()"
    # Copy writes the clipboard.
    assert "clipboard-write" not in features


def test_report_only_mode_sends_the_same_policy_as_report_only(client, db, settings):
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = None

    response = client.get(reverse("login"))

    assert "Content-Security-Policy" not in response
    assert policy(response["Content-Security-Policy-Report-Only"])["script-src"] == "'self'"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_rollcall_csp_report_only_switches_the_settings_to_report_only():
    read = (
        "import json; from config import settings as s; "
        "print(json.dumps([s.CONTENT_SECURITY_POLICY, s.CONTENT_SECURITY_POLICY_REPORT_ONLY]))"
    )
    env = {**os.environ, "DJANGO_SECRET_KEY": "test", "ROLLCALL_CSP_REPORT_ONLY": "1"}
    answer = subprocess.run([sys.executable, "-c", read], cwd=ROOT, env=env, capture_output=True, text=True, check=True)

    enforced, report_only = json.loads(answer.stdout)
    assert enforced is None
    assert report_only == {"DIRECTIVES": settings.CSP_DIRECTIVES}
