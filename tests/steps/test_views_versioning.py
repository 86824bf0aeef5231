"""No lost updates through the screens (issue 4, item 3): every form and button that acts on a customer step sends
the version of the step it was rendered with; acting from a stale page answers 409 with "This step was changed by
NAME at TIME", the step as it is now (side panel, matrix cell, rows, progress) and nothing changed; a current version
or none at all (scripts, old pages) acts as before."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from history.models import Event
from releases.services import release_activate
from steps.forms import VERSION_INVALID
from steps.models import CustomerStep, StepTemplate
from steps.services import (
    customer_step_add_custom,
    customer_step_mark_done,
    customer_step_override,
    customer_step_skip,
    customer_step_update_notes,
)
from steps.services.rules import STEP_CHANGED

pytestmark = pytest.mark.django_db

PANEL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "side-panel"}


def _sent_from(url: str) -> dict:
    """The headers htmx sends for the side panel of the page at `url`."""
    return {**PANEL, "HTTP_HX_CURRENT_URL": f"http://testserver{url}"}


ACTIONS = ("done", "skip", "revert", "reopen", "notes", "override", "reset", "edit", "remove")
ACTION_URL = re.compile(r"^/steps/(?P<pk>\d+)/(?P<action>" + "|".join(ACTIONS) + r")/$")
# What each action's form sends besides the version: enough for the form to be valid.
DATA = {
    "done": {"notes": "ran it myself"},
    "skip": {"reason": "not needed here"},
    "revert": {"notes": "wrong tag"},
    "reopen": {},
    "notes": {"notes": "my notes"},
    "override": {"content": "echo mine"},
    "reset": {},
    "edit": {"name": "Renamed", "type": "bash", "content": "echo edited", "description": ""},
    "remove": {},
}


class _ActionForms(HTMLParser):
    """Every POST form of a page: the step action URLs its form and buttons post to, and its `version` inputs."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") == "post" or "hx-post" in attrs):
            self.in_form = True
            self.forms.append({"urls": set(), "versions": []})
        if not self.in_form:
            return
        for name in ("action", "formaction", "hx-post"):
            if attrs.get(name):
                self.forms[-1]["urls"].add(attrs[name])
        if tag == "input" and attrs.get("name") == "version":
            self.forms[-1]["versions"].append((attrs.get("type"), attrs.get("value")))

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False


def _action_forms(html: str) -> list[tuple[int, str, list]]:
    """(step pk, action, version inputs) for every step action a page offers."""
    parser = _ActionForms()
    parser.feed(html)
    found = []
    for form in parser.forms:
        for url in form["urls"]:
            if match := ACTION_URL.match(url):
                found.append((int(match["pk"]), match["action"], form["versions"]))
    return found


class _Element(HTMLParser):
    """The text and inner HTML of the element with a given id, and where it starts in the page."""

    def __init__(self, element_id: str):
        super().__init__()
        self.element_id = element_id
        self.depth = 0
        self.found: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.found[-1]["html"] += self.get_starttag_text()
            self.depth += tag not in {"input", "br", "link", "meta", "img"}
        elif dict(attrs).get("id") == self.element_id:
            self.found.append({"attrs": dict(attrs), "text": "", "html": ""})
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1
            if self.depth:
                self.found[-1]["html"] += f"</{tag}>"

    def handle_data(self, data):
        if self.depth:
            self.found[-1]["text"] += data + " "
            self.found[-1]["html"] += data


def _one(html: str, element_id: str) -> dict:
    parser = _Element(element_id)
    parser.feed(html)
    assert len(parser.found) == 1, f"{len(parser.found)} elements with id {element_id}"
    element = parser.found[0]
    element["text"] = " ".join(element["text"].split())
    return element


def _versions_in(html: str) -> set[str]:
    return set(re.findall(r'name="version" value="(\d+)"', html))


def _state() -> tuple:
    """What a refused request must leave untouched."""
    return (
        list(
            CustomerStep.all_objects.order_by("pk").values_list(
                "status", "content", "notes", "skip_reason", "name", "is_overridden", "deleted_at", "version"
            )
        ),
        StepTemplate.all_objects.count(),
        Event.objects.count(),
    )


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def bo(django_user_model):
    """The colleague who changes the step in the meantime (a superuser: this is not about roles)."""
    return django_user_model.objects.create_user(username="bo", is_superuser=True)


@pytest.fixture
def active(world):
    release_activate(release=world.release, user=world.user)
    world.release.refresh_from_db()
    return world


def _step(world, customer: str = "customer-a", template: int = 0) -> CustomerStep:
    return CustomerStep.objects.get(customer=world.customers[customer], template=world.templates[template])


def _custom(world, customer: str = "customer-a") -> CustomerStep:
    return customer_step_add_custom(
        release=world.release,
        customer=world.customers[customer],
        user=world.user,
        name="Flush cache",
        category="deploy",
        type="bash",
        content="redis-cli FLUSHALL",
    )


def _step_for(action: str, world) -> CustomerStep:
    """A step of customer-a on which `action` is offered."""
    step = _custom(world) if action in {"edit", "remove"} else _step(world)
    if action == "revert":
        customer_step_mark_done(step=step, user=world.user)
    elif action == "reopen":
        customer_step_skip(step=step, user=world.user, reason="later")
    elif action == "reset":
        customer_step_override(step=step, user=world.user, content="echo own")
    step.refresh_from_db()
    return step


def _url(action: str, step) -> str:
    return reverse(f"steps:step_{action}", args=[step.pk])


def _shown_version(client, step) -> str:
    """The version the side panel of the step is rendered with, as a browser would send it back."""
    versions = _versions_in(client.get(reverse("steps:step_detail", args=[step.pk]), **PANEL).content.decode())
    assert len(versions) == 1, versions
    return versions.pop()


def _changed_by(step) -> str:
    last = step.events.order_by("-occurred_at", "-id").first()
    when = timezone.localtime(last.occurred_at).strftime("%Y-%m-%d %H:%M:%S")
    return STEP_CHANGED.format(actor=last.actor_name, when=when)


# --- a stale page is refused ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_from_a_stale_panel_answers_409_with_who_changed_the_step_and_its_current_state(
    client, active, bo, action
):
    step = _step_for(action, active)
    seen = _shown_version(client, step)
    customer_step_update_notes(step=step, user=bo, notes="bo was here")
    step.refresh_from_db()
    before = _state()

    response = client.post(_url(action, step), {**DATA[action], "version": seen}, **PANEL)

    assert response.status_code == 409
    html = response.content.decode()
    panel = _one(html, "step-panel")
    message = _changed_by(step)
    assert message.startswith("This step was changed by bo at ")
    conflict = panel["html"].index(message)
    assert conflict < panel["html"].index('<dl class="kv">'), "the message is at the top of the panel"
    assert _versions_in(panel["html"]) == {str(step.version)}, "a retry acts on the current state"
    assert "bo was here" in panel["text"]
    assert _state() == before


def test_the_409_answer_shows_the_current_status_in_the_panel_the_cell_the_rows_and_the_progress(client, active, bo):
    step = _step(active)
    seen = _shown_version(client, step)
    customer_step_mark_done(step=step, user=bo, notes="ran it by bo")
    before = _state()

    customer = active.customers["customer-a"].pk
    pages = {
        "matrix": reverse("steps:matrix", args=[active.release.pk]),
        "checklist": reverse("steps:customer_steps", args=[active.release.pk, customer]),
        "cross-customer": reverse("steps:template_step_status", args=[active.templates[0].pk]),
    }
    # A refused action changes nothing, so the same stale request can be sent from each page that offers it.
    answers = {
        page: client.post(_url("skip", step), {"reason": "not needed", "version": seen}, **_sent_from(url))
        for page, url in pages.items()
    }

    assert {answer.status_code for answer in answers.values()} == {409}
    html = {page: answer.content.decode() for page, answer in answers.items()}
    panel = _one(html["matrix"], "step-panel")
    assert "Status ✅ Done" in panel["text"] and "Completed:" in panel["text"] and "by bo" in panel["text"]
    assert "ran it by bo" in panel["text"]
    assert "Revert" in panel["text"] and "Confirm Skip" not in panel["text"]
    cell = _one(html["matrix"], f"cell-{step.pk}")
    assert cell["text"] == "✅ Done" and cell["attrs"]["hx-swap-oob"] == "true"
    for page, row_id in (("checklist", f"step-{step.pk}"), ("cross-customer", f"status-row-{step.pk}")):
        row = _one(html[page], row_id)
        assert row["attrs"]["hx-swap-oob"] == "true" and "✅ Done" in row["text"]
        step.refresh_from_db()
        assert _versions_in(row["html"]) == {str(step.version)}
    assert _one(html["matrix"], f"progress-customer-{customer}-deploy")["text"] == "50%"
    assert _one(html["checklist"], f"count-customer-{customer}-deploy")["text"] == "(1/2 done)"
    assert _state() == before
    assert step.status == "done" and step.skip_reason == "" and step.notes == "ran it by bo"


def test_a_row_action_from_a_stale_customer_view_answers_409_with_the_current_state(client, active, bo):
    step = _step(active)
    page = client.get(reverse("steps:customer_steps", args=[active.release.pk, active.customers["customer-a"].pk]))
    seen = _versions_in(_one(page.content.decode(), f"step-{step.pk}")["html"]).pop()
    customer_step_skip(step=step, user=bo, reason="the customer did it")
    before = _state()

    response = client.post(
        _url("done", step),
        {"version": seen},
        **_sent_from(reverse("steps:customer_steps", args=[active.release.pk, active.customers["customer-a"].pk])),
    )

    assert response.status_code == 409
    html = response.content.decode()
    assert _changed_by(step) in _one(html, "step-panel")["text"]
    row = _one(html, f"step-{step.pk}")
    assert "⏸️ Skipped" in row["text"] and "Skipped: the customer did it" in row["text"]
    assert "Undo Skip" in row["text"] and "Mark as Done" not in row["text"]
    assert _state() == before


def test_a_stale_plain_post_redirects_back_with_the_message_as_an_error(client, active, bo):
    step = _step(active)
    seen = _shown_version(client, step)
    customer_step_mark_done(step=step, user=bo)
    back = reverse("steps:customer_steps", args=[active.release.pk, active.customers["customer-a"].pk])
    before = _state()

    response = client.post(_url("skip", step), {"reason": "not needed", "version": seen, "next": back})

    assert response.status_code == 302 and response["Location"] == back
    messages = [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]
    assert messages == [("error", _changed_by(step))]
    assert _state() == before


def test_my_own_earlier_change_makes_my_old_page_stale_too(client, active):
    step = _step(active)
    seen = _shown_version(client, step)
    assert client.post(_url("notes", step), {"notes": "first", "version": seen}, **PANEL).status_code == 200
    before = _state()

    response = client.post(_url("notes", step), {"notes": "second", "version": seen}, **PANEL)

    assert response.status_code == 409
    assert "This step was changed by rm at " in _one(response.content.decode(), "step-panel")["text"]
    assert _state() == before


def test_a_version_that_is_not_a_number_is_refused_with_a_message_and_changes_nothing(client, active):
    step = _step(active)
    before = _state()

    response = client.post(_url("done", step), {"notes": "", "version": "latest"}, **PANEL)

    assert response.status_code == 422
    assert VERSION_INVALID in _one(response.content.decode(), "step-panel")["text"]
    assert _state() == before


# --- a current version, or none, acts --------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_with_the_current_version_is_done(client, active, action):
    step = _step_for(action, active)
    events = Event.objects.count()

    response = client.post(_url(action, step), {**DATA[action], "version": _shown_version(client, step)}, **PANEL)

    assert response.status_code == 200
    changed = CustomerStep.all_objects.get(pk=step.pk)
    assert changed.version == step.version + 1
    assert Event.objects.count() == events + 1
    expected = {
        "done": ("status", "done"),
        "skip": ("skip_reason", "not needed here"),
        "revert": ("status", "reverted"),
        "reopen": ("status", "pending"),
        "notes": ("notes", "my notes"),
        "override": ("content", "echo mine"),
        "reset": ("is_overridden", False),
        "edit": ("name", "Renamed"),
        "remove": ("is_deleted", True),
    }[action]
    assert getattr(changed, expected[0]) == expected[1]


def test_an_action_without_a_version_still_works_for_scripts_and_old_pages(client, active, bo):
    step = _step(active)
    customer_step_skip(step=step, user=bo, reason="later")

    response = client.post(_url("reopen", step), **PANEL)

    assert response.status_code == 200
    step.refresh_from_db()
    assert step.status == "pending"


# --- every action sends its version ---------------------------------------------------------------------------------


def test_every_step_action_on_every_screen_sends_the_version_it_was_rendered_with(client, active, bo):
    pending = _step(active, "customer-a", 0)
    overridden = _step_for("reset", active)  # customer-a's template step 0, overridden
    done = customer_step_mark_done(step=_step(active, "customer-a", 1), user=bo)
    skipped = customer_step_skip(step=_step(active, "customer-b", 0), user=bo, reason="later")
    custom = _custom(active)
    steps = {step.pk: step for step in CustomerStep.objects.filter(release=active.release)}
    customer = active.customers["customer-a"].pk
    pages = [reverse("steps:step_detail", args=[pk]) for pk in {pending.pk, overridden.pk, done.pk, skipped.pk}]
    pages += [
        reverse("steps:step_detail", args=[custom.pk]),
        reverse("steps:customer_steps", args=[active.release.pk, customer]),
        reverse("steps:customer_steps", args=[active.release.pk, active.customers["customer-b"].pk]),
        reverse("steps:template_step_status", args=[active.templates[0].pk]),
        reverse("steps:template_step_status", args=[active.templates[1].pk]),
    ]
    assert any(step.version > 1 for step in steps.values()), "versions differ from the default"

    offered = set()
    for page in pages:
        for pk, action, versions in _action_forms(client.get(page).content.decode()):
            assert versions == [("hidden", str(steps[pk].version))], (page, action)
            offered.add(action)

    assert offered == set(ACTIONS)


def test_htmx_swaps_a_409_answer_like_a_422_one(client, active):
    html = client.get(reverse("steps:step_detail", args=[_step(active).pk])).content.decode()

    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html)
    handling = json.loads(config[1])["responseHandling"]
    codes = [rule["code"] for rule in handling]
    assert {"code": "409", "swap": True} in handling
    assert codes.index("409") < codes.index("[45]..")
