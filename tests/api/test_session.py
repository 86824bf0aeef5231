"""A browser logged in with its session may call the API too; a write then needs the CSRF token, as every form does.
A token call needs none."""

from django.test import Client

from tests.test_hostile_input import database_snapshot


def _browser(user) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    return browser


def test_a_session_reads_the_api(routes_world, user):
    response = _browser(user).get("/api/steps/", {"customer": "customer-a"})

    assert response.status_code == 200
    assert response.json()["count"] == 4


def test_a_session_write_without_csrf_is_refused_and_changes_nothing(routes_world, user):
    before = database_snapshot()

    response = _browser(user).post(f"/api/steps/{routes_world.pending.pk}/done/", "{}", content_type="application/json")

    assert response.status_code == 403
    assert response.json() == {"detail": "CSRF Failed: CSRF cookie not set.", "errors": {}}
    assert database_snapshot() == before


def test_a_session_write_with_the_csrf_token_works(routes_world, user):
    browser = _browser(user)
    browser.get("/")  # the page sets the CSRF cookie, as a browser gets it
    token = browser.cookies["csrftoken"].value

    response = browser.post(
        f"/api/steps/{routes_world.pending.pk}/done/",
        "{}",
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200
    assert response.json()["status"] == "done"


def test_a_token_write_needs_no_csrf(routes_world, user, make_token):
    pipeline = Client(enforce_csrf_checks=True)

    response = pipeline.post(
        f"/api/steps/{routes_world.pending.pk}/done/",
        "{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {make_token(user)}"},
    )

    assert response.status_code == 200


def test_the_browsable_api_renders_for_a_browser(routes_world, user):
    browser = _browser(user)
    w = routes_world

    pages = [
        "/api/",
        "/api/steps/",
        f"/api/steps/{w.pending.pk}/",
        f"/api/releases/{w.release.pk}/",
        "/api/customers/",
        f"/api/customers/{w.customers['a'].pk}/",
        "/api/clusters/",
        "/api/template-steps/",
        f"/api/template-steps/{w.templates['health'].pk}/",
    ]
    answers = {page: browser.get(page, headers={"Accept": "text/html"}) for page in pages}

    assert {page: answer.status_code for page, answer in answers.items()} == dict.fromkeys(pages, 200)
    assert all(answer["Content-Type"].startswith("text/html") for answer in answers.values())
    assert "customer-a" in answers["/api/customers/"].content.decode()
