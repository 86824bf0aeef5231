"""Hostile input (issue 4): download names that cannot inject headers or paths; limits refused through the web forms
with a clear message next to the field and nothing saved; text that survives the forms byte for byte (a browser's
CRLF line ends read as LF), and comes back exactly from Download and the hidden Copy textarea."""

import json
import re
from html import unescape
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import unquote

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.urls import reverse

from clusters.models import Cluster
from core.validators import STEP_CONTENT_MAX_CHARS, validate_namespace, validate_step_content_size
from customers.models import Customer
from releases.models import Release
from releases.services import release_activate
from steps.choices import StepStatus
from steps.models import CustomerStep, StepTemplate
from steps.services import customer_step_add_custom
from steps.services.rules import SKIP_REASON_REQUIRED
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

ROLLCALL_APPS = ("clusters", "customers", "releases", "steps", "history", "variables", "webhooks", "runs")

# A script as a browser sends it from a textarea (CRLF line ends): quotes, backslashes, a tab, $() and backticks,
# unicode, a blank line and HTML-like text.
SCRIPT = (
    "#!/usr/bin/env bash\r\n"
    "set -euo pipefail\r\n"
    'echo "it\'s $(whoami) on \\"${NAMESPACE:-default}\\"" \\\r\n'
    "\tprintf '%s\\n' 'naïve café — ✓ 日本語 🚀'\r\n"
    "grep -E '^[a-z]+\\\\.$' <<< \"$(kubectl get pods)\" && echo `date`\r\n"
    "\r\n"
    "psql -c 'SELECT 1;' # <b>not bold</b> &amp; </textarea>\r\n"
)
STORED_SCRIPT = SCRIPT.replace("\r\n", "\n")
# A one-line text for names: quotes, a backslash, $() and unicode.
NAME = 'it\'s "prod" \\ $(whoami) `id` naïve ✓ 客户'

MAX_LENGTH = "Ensure this value has at most {limit} characters (it has {count})."
INVALID_JSON = "Enter a valid JSON."
NOT_A_JSON_OBJECT = 'Metadata must be a JSON object, e.g. {"region": "us-east-1"}.'
DOWNLOAD_EXTENSIONS = {"bash": "sh", "sql": "sql", "text": "txt"}


def database_snapshot() -> dict:
    """Every row of every Rollcall model, history and deleted rows included, and the number of users: what a refused
    request must leave exactly as it was."""
    rows = {
        model._meta.label: list(model._base_manager.order_by("pk").values_list())
        for model in apps.get_models()
        if model._meta.app_label in ROLLCALL_APPS
    }
    rows["users"] = get_user_model().objects.count()
    return rows


class _FieldErrors(HTMLParser):
    """The error messages of each form field, by field name, as templates/_field.html shows them: inside the
    field's `div.field`, after its input."""

    def __init__(self):
        super().__init__()
        self.errors: dict[str, list[str]] = {}
        self.fields: list[dict] = []  # the open div.field blocks: their depth, field names and messages
        self.depth = 0
        self.error_depth = None
        self.error_text = ""

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "div":
            self.depth += 1
            if "field" in classes:
                self.fields.append({"depth": self.depth, "names": [], "messages": []})
            elif "error" in classes and self.fields:
                self.error_depth, self.error_text = self.depth, ""
        elif tag in {"input", "select", "textarea"} and self.fields and attributes.get("name"):
            self.fields[-1]["names"].append(attributes["name"])

    def handle_endtag(self, tag):
        if tag != "div":
            return
        if self.error_depth == self.depth:
            self.fields[-1]["messages"].append(self.error_text.strip())
            self.error_depth = None
        elif self.fields and self.fields[-1]["depth"] == self.depth:
            block = self.fields.pop()
            for name in block["names"]:
                if block["messages"]:
                    self.errors.setdefault(name, []).extend(block["messages"])
        self.depth -= 1

    def handle_data(self, data):
        if self.error_depth is not None:
            self.error_text += data


def field_errors(response) -> dict[str, list[str]]:
    """The messages shown next to each field of the forms on the page."""
    parser = _FieldErrors()
    parser.feed(response.content.decode())
    return parser.errors


def copied_text(client, panel, step) -> str:
    """What the Copy button copies: the text its data-copy-url serves."""
    match = re.search(r'data-copy-url="([^"]+)"', panel.content.decode())
    assert match, "the step's Copy button is missing"
    return client.get(unescape(match.group(1))).content.decode()


def script_of(text: str) -> str:
    """A copied or downloaded step without its first line, the header that names the target."""
    header, script = text.split("\n", 1)
    assert header.startswith(("# Rollcall: ", "-- Rollcall: ", "Rollcall: "))
    return script


DISPOSITION = re.compile(
    r"attachment; filename=\"(?P<plain>[^\"\\]+)\"|attachment; filename\*=utf-8''(?P<encoded>[A-Za-z0-9%._~-]+)"
)


def download_filename(header: str) -> str:
    """The file name of a Content-Disposition header that is one safe value: an attachment, a single quoted or
    percent-encoded name, no line break, quote, slash or backslash in the name, and no dot but the extension's."""
    assert "\r" not in header and "\n" not in header, header
    match = DISPOSITION.fullmatch(header)
    assert match, header
    filename = match["plain"] if match["plain"] is not None else unquote(match["encoded"])
    assert not set(filename) & set('/\\"\r\n\x00'), filename
    assert filename.count(".") == 1 and not filename.startswith("."), filename
    return filename


@pytest.fixture
def hostile_world(db, admin_user):
    """prod-us with customer-a, in an active release with one deploy template step (a pending customer step) and
    one custom step."""
    cluster = ClusterFactory(name="prod-us", metadata={"region": "us-east-1"})
    customer = CustomerFactory(cluster=cluster, name="customer-a", namespace="cust-a-prod")
    release = ReleaseFactory(name="v2.5.0")
    template = StepTemplateFactory(
        release=release, name="Deploy app", category="deploy", type="bash", order_index=0, content="echo deploy"
    )
    release_activate(release=release, user=admin_user)
    custom = customer_step_add_custom(
        release=release,
        customer=customer,
        user=admin_user,
        name="Warm cache",
        category="deploy",
        type="bash",
        content="echo warm",
    )
    return SimpleNamespace(
        cluster=cluster,
        customer=customer,
        release=release,
        template=template,
        step=CustomerStep.objects.get(customer=customer, template=template),
        custom=custom,
    )


# Each web form: its URL and data it accepts, in the world of hostile_world.
FORMS = {
    "cluster_create": lambda w: (
        reverse("clusters:cluster_create"),
        {"name": "prod-ap", "kubeconfig_path": "", "description": "", "is_active": "on", "metadata": "{}"},
    ),
    "cluster_edit": lambda w: (
        reverse("clusters:cluster_edit", args=[w.cluster.pk]),
        {
            "name": "prod-us",
            "kubeconfig_path": w.cluster.kubeconfig_path,
            "description": "",
            "is_active": "on",
            "metadata": '{"region": "us-east-1"}',
        },
    ),
    "customer_create": lambda w: (
        reverse("customers:customer_create"),
        {
            "cluster": w.cluster.pk,
            "name": "customer-b",
            "namespace": "cust-b-prod",
            "description": "",
            "is_active": "on",
            "metadata": "{}",
        },
    ),
    "customer_edit": lambda w: (
        reverse("customers:customer_edit", args=[w.customer.pk]),
        {
            "cluster": w.cluster.pk,
            "name": "customer-a",
            "namespace": "cust-a-prod",
            "description": "",
            "is_active": "on",
            "metadata": "{}",
        },
    ),
    "release_create": lambda w: (
        reverse("releases:release_create"),
        {"name": "v2.6.0", "type": "release", "version_number": "v2.6.0", "release_date": "2030-01-15"},
    ),
    "release_edit": lambda w: (
        reverse("releases:release_edit", args=[w.release.pk]),
        {"name": "v2.5.0", "type": "release", "version_number": "v2.5.0", "release_date": "2030-01-15"},
    ),
    "template_step_create": lambda w: (
        reverse("releases:template_step_create", args=[w.release.pk]),
        {"name": "Smoke test", "category": "verify", "type": "bash", "content": "echo ok", "description": ""},
    ),
    "template_step_edit": lambda w: (
        reverse("releases:template_step_edit", args=[w.template.pk]),
        {"name": "Deploy app", "category": "deploy", "type": "bash", "content": "echo deploy", "description": ""},
    ),
    "step_override": lambda w: (reverse("steps:step_override", args=[w.step.pk]), {"content": "echo mine"}),
    "custom_step_add": lambda w: (
        reverse("steps:custom_step_add", args=[w.release.pk, w.customer.pk]),
        {"name": "Flush cache", "category": "deploy", "type": "bash", "content": "echo flush", "relative_to": ""},
    ),
    "step_edit": lambda w: (
        reverse("steps:step_edit", args=[w.custom.pk]),
        {"name": "Warm cache", "type": "bash", "content": "echo warm", "description": ""},
    ),
    "step_notes": lambda w: (reverse("steps:step_notes", args=[w.step.pk]), {"notes": ""}),
    "step_skip": lambda w: (reverse("steps:step_skip", args=[w.step.pk]), {"reason": "Not on this cluster"}),
}


def post_form(client, world, form: str, **changes):
    """Post one of FORMS with some fields changed."""
    url, data = FORMS[form](world)
    return client.post(url, {**data, **changes})


def assert_refused(client, world, form: str, field: str, value: str, message: str | None) -> None:
    """Posting `value` in `field` is refused (422) with `message` next to that field alone, and nothing is saved."""
    before = database_snapshot()
    response = post_form(client, world, form, **{field: value})
    assert response.status_code == 422
    errors = field_errors(response)
    assert list(errors) == [field], errors
    if message is not None:
        assert errors[field] == [message]
    else:
        assert len(errors[field]) == 1
    assert database_snapshot() == before


# --- download file names ---------------------------------------------------------------------------------------

HOSTILE_NAMES = [
    "../../etc/passwd",
    "a\r\nX-Evil: 1",
    '"; filename=evil.sh',
    "..\\..\\windows\\win.ini",
    "Ünïcødé 客户 ✓",
    "\u202eexe.sh",
    ".bashrc",
]


@pytest.mark.parametrize(
    ("customer_name", "step_name", "step_type"),
    list(zip(HOSTILE_NAMES, reversed(HOSTILE_NAMES), ["bash", "sql", "text"] * 3, strict=False)),
)
def test_download_name_cannot_inject_headers_or_paths(admin_client, admin_user, customer_name, step_name, step_type):
    customer = CustomerFactory(name=customer_name)
    release = ReleaseFactory()
    StepTemplateFactory(release=release, name=step_name, type=step_type, content=STORED_SCRIPT)
    release_activate(release=release, user=admin_user)
    step = CustomerStep.objects.get(customer=customer)

    response = admin_client.get(reverse("steps:step_download", args=[step.pk]))

    assert response.status_code == 200
    filename = download_filename(response["Content-Disposition"])
    assert filename.endswith(f".{DOWNLOAD_EXTENSIONS[step_type]}")
    assert not [header for header in response.headers if "evil" in header.lower()]
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    header, script = response.content.decode().split("\n", 1)
    assert script == STORED_SCRIPT
    # A name with a line break can't end the header's comment and slip a line of its own into the script.
    assert "\r" not in header and "X-Evil" not in script


# --- limits ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "limit"),
    [
        ("cluster_create", 100),
        ("cluster_edit", 100),
        ("customer_create", 100),
        ("customer_edit", 100),
        ("release_create", 200),
        ("release_edit", 200),
        ("template_step_create", 200),
        ("template_step_edit", 200),
        ("custom_step_add", 200),
        ("step_edit", 200),
    ],
)
def test_name_longer_than_its_limit_is_refused(admin_client, hostile_world, form, limit):
    message = MAX_LENGTH.format(limit=limit, count=limit + 1)
    assert_refused(admin_client, hostile_world, form, "name", "n" * (limit + 1), message)


@pytest.mark.parametrize(
    ("form", "limit"), [("cluster_create", 100), ("customer_create", 100), ("template_step_create", 200)]
)
def test_name_at_its_limit_is_accepted(admin_client, hostile_world, form, limit):
    response = post_form(admin_client, hostile_world, form, name="n" * limit)
    assert response.status_code in {200, 302}
    assert not field_errors(response)
    model = {"cluster_create": Cluster, "customer_create": Customer, "template_step_create": StepTemplate}[form]
    assert model.objects.filter(name="n" * limit).exists()


@pytest.mark.parametrize(
    "form", ["template_step_create", "template_step_edit", "step_override", "custom_step_add", "step_edit"]
)
def test_step_content_over_256_kb_is_refused(admin_client, hostile_world, form):
    too_long = STEP_CONTENT_MAX_CHARS + 1
    message = validate_step_content_size.message % {"limit_value": STEP_CONTENT_MAX_CHARS, "show_value": too_long}
    assert too_long == 262_145
    assert_refused(admin_client, hostile_world, form, "content", "x" * too_long, message)


def test_step_content_of_exactly_256_kb_is_accepted(admin_client, hostile_world):
    response = post_form(admin_client, hostile_world, "step_override", content="y" * STEP_CONTENT_MAX_CHARS)
    assert response.status_code == 302
    hostile_world.step.refresh_from_db()
    assert (len(hostile_world.step.content), hostile_world.step.is_overridden) == (STEP_CONTENT_MAX_CHARS, True)


@pytest.mark.parametrize("form", ["customer_create", "customer_edit"])
@pytest.mark.parametrize(
    ("namespace", "message"),
    [
        ("Cust-A-Prod", validate_namespace.message),
        ("cust_a_prod", validate_namespace.message),
        ("-cust-a-prod", validate_namespace.message),
        ("cust-a-prod-", validate_namespace.message),
        ("cust a prod", validate_namespace.message),
        ("<script>", validate_namespace.message),
        ("n" * 64, MAX_LENGTH.format(limit=63, count=64)),
    ],
    ids=["upper-case", "underscore", "leading-dash", "trailing-dash", "space", "markup", "64-chars"],
)
def test_namespace_must_be_an_rfc_1123_label(admin_client, hostile_world, form, namespace, message):
    assert_refused(admin_client, hostile_world, form, "namespace", namespace, message)


def test_namespace_of_63_characters_is_accepted(admin_client, hostile_world):
    response = post_form(admin_client, hostile_world, "customer_create", namespace="n" * 63)
    assert response.status_code == 302
    assert Customer.objects.filter(namespace="n" * 63).exists()


@pytest.mark.parametrize("form", ["cluster_create", "cluster_edit", "customer_create", "customer_edit"])
@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ('["us-east-1"]', NOT_A_JSON_OBJECT),
        ('"us-east-1"', NOT_A_JSON_OBJECT),
        ("42", NOT_A_JSON_OBJECT),
        ('{"region": ', INVALID_JSON),
        ("{region: 'us'}", INVALID_JSON),
    ],
    ids=["list", "string", "number", "truncated", "not-json"],
)
def test_metadata_must_be_a_json_object(admin_client, hostile_world, form, metadata, message):
    assert_refused(admin_client, hostile_world, form, "metadata", metadata, message)


@pytest.mark.parametrize("form", ["cluster_create", "customer_edit"])
@pytest.mark.parametrize(
    "metadata",
    [
        '{"replicas": NaN}',
        '{"replicas": Infinity}',
        '{"replicas": 1e400}',
        '{"region": "us\\u0000east"}',
        '{"region\\u0000": "us"}',
        '{"region": "\\ud800"}',
        '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
    ids=["nan", "infinity", "overflowing-number", "nul-in-value", "nul-in-key", "lone-surrogate", "deep-nesting"],
)
def test_metadata_a_database_cannot_store_is_refused(admin_client, hostile_world, form, metadata):
    """Not-a-number, NUL characters, lone surrogates and runaway nesting are no valid metadata: PostgreSQL's jsonb
    rejects the first three, and a stored lone surrogate breaks every page that shows it."""
    assert_refused(admin_client, hostile_world, form, "metadata", metadata, None)


@pytest.mark.parametrize("reason", ["", "   ", " \r\n\t "])
def test_br_s03_blank_skip_reason_is_refused_next_to_the_field(admin_client, hostile_world, reason):
    assert_refused(admin_client, hostile_world, "step_skip", "reason", reason, SKIP_REASON_REQUIRED)
    hostile_world.step.refresh_from_db()
    assert hostile_world.step.status == StepStatus.PENDING


# --- ids and return addresses that are not what a page sends ----------------------------------------------------


@pytest.mark.parametrize("pk", [2**63, 10**20])
@pytest.mark.parametrize(
    "filtered_page",
    [
        lambda w, pk: reverse("customers:customer_list") + f"?cluster={pk}",
        lambda w, pk: reverse("steps:matrix", args=[w.release.pk]) + f"?cluster={pk}",
        lambda w, pk: reverse("audit:audit") + f"?customer={pk}&customer_step={pk}",
    ],
    ids=["customer-list", "matrix", "audit"],
)
def test_filter_by_an_id_no_database_holds_shows_nothing_instead_of_failing(
    admin_client, hostile_world, filtered_page, pk
):
    response = admin_client.get(filtered_page(hostile_world, pk))
    assert response.status_code == 200


@pytest.mark.parametrize("next_url", ["0", "steps", "dashboard"])
@pytest.mark.parametrize("action", ["step_done", "step_notes", "mark_all"])
def test_plain_post_with_a_next_that_is_not_a_path_still_redirects_within_the_site(
    admin_client, hostile_world, action, next_url
):
    """`next` names where a plain (no JavaScript) POST goes back to: whatever it holds, the answer is a redirect
    within the site, never an error."""
    args = [hostile_world.release.pk, hostile_world.customer.pk, "deploy"] if action == "mark_all" else None
    url = reverse(f"steps:{action}", args=args or [hostile_world.step.pk])
    response = admin_client.post(url, {"notes": "ok", "next": next_url})
    assert response.status_code == 302
    assert not response["Location"].startswith(("//", "http:", "https:"))


# --- text round trips ------------------------------------------------------------------------------------------


def _latest(model):
    return lambda hostile_world: model._base_manager.order_by("-pk").first()


# Each text field of each form: the object it lands on, the attribute it is stored in, and how it is stored when
# that is not exactly as typed (names are one line, trimmed; a skip reason is trimmed).
TEXT_FIELDS = [
    ("cluster_create", "name", NAME, _latest(Cluster), "name"),
    ("cluster_create", "kubeconfig_path", NAME, _latest(Cluster), "kubeconfig_path"),
    ("cluster_create", "description", SCRIPT, _latest(Cluster), "description"),
    ("cluster_edit", "description", SCRIPT, lambda w: w.cluster, "description"),
    ("customer_create", "name", NAME, _latest(Customer), "name"),
    ("customer_create", "description", SCRIPT, _latest(Customer), "description"),
    ("customer_edit", "description", SCRIPT, lambda w: w.customer, "description"),
    ("release_create", "name", NAME, _latest(Release), "name"),
    ("release_create", "version_number", NAME, _latest(Release), "version_number"),
    ("release_create", "description", SCRIPT, _latest(Release), "description"),
    ("release_edit", "description", SCRIPT, lambda w: w.release, "description"),
    ("template_step_create", "name", NAME, _latest(StepTemplate), "name"),
    ("template_step_create", "content", SCRIPT, _latest(StepTemplate), "content"),
    ("template_step_create", "description", SCRIPT, _latest(StepTemplate), "description"),
    ("template_step_edit", "content", SCRIPT, lambda w: w.template, "content"),
    ("template_step_edit", "description", SCRIPT, lambda w: w.template, "description"),
    ("step_override", "content", SCRIPT, lambda w: w.step, "content"),
    ("custom_step_add", "name", NAME, _latest(CustomerStep), "name"),
    ("custom_step_add", "content", SCRIPT, _latest(CustomerStep), "content"),
    ("custom_step_add", "description", SCRIPT, _latest(CustomerStep), "description"),
    ("step_edit", "name", NAME, lambda w: w.custom, "name"),
    ("step_edit", "content", SCRIPT, lambda w: w.custom, "content"),
    ("step_edit", "description", SCRIPT, lambda w: w.custom, "description"),
    ("step_notes", "notes", SCRIPT, lambda w: w.step, "notes"),
    ("step_skip", "reason", SCRIPT, lambda w: w.step, "skip_reason"),
]


@pytest.mark.parametrize(
    ("form", "field", "text", "stored_on", "attribute"),
    TEXT_FIELDS,
    ids=[f"{form}-{field}" for form, field, *_ in TEXT_FIELDS],
)
def test_text_round_trips_exactly(admin_client, hostile_world, form, field, text, stored_on, attribute):
    """Stored as typed, byte for byte, except the CRLF line ends of a textarea, which become LF (a skip reason is
    also trimmed, as the service does)."""
    response = post_form(admin_client, hostile_world, form, **{field: text})
    assert response.status_code == 302, field_errors(response)
    expected = text.replace("\r\n", "\n")
    if attribute == "skip_reason":
        expected = expected.strip()
    obj = stored_on(hostile_world)
    obj.refresh_from_db()
    assert getattr(obj, attribute) == expected


METADATA = {
    "region": "us-east-1",
    'it\'s "quoted"': "back\\slash $(whoami) ✓ 客户",
    "nested": {"replicas": [1, 2.5, True, None], "": ""},
}


@pytest.mark.parametrize(
    ("form", "stored_on"), [("cluster_create", _latest(Cluster)), ("customer_edit", lambda w: w.customer)]
)
def test_metadata_round_trips_exactly(admin_client, hostile_world, form, stored_on):
    response = post_form(admin_client, hostile_world, form, metadata=json.dumps(METADATA, ensure_ascii=False, indent=2))
    assert response.status_code == 302, field_errors(response)
    obj = stored_on(hostile_world)
    obj.refresh_from_db()
    assert obj.metadata == METADATA


# The forms that set a customer step's content, and the customer step that then shows it.
CONTENT_FORMS = {
    "template_step_create": lambda w: CustomerStep.objects.get(template=StepTemplate.objects.latest("pk")),
    "template_step_edit": lambda w: w.step,
    "step_override": lambda w: w.step,
    "custom_step_add": lambda w: CustomerStep.objects.latest("pk"),
    "step_edit": lambda w: w.custom,
}


@pytest.mark.parametrize("form", CONTENT_FORMS)
def test_step_content_comes_back_exactly_from_download_and_copy(admin_client, hostile_world, form):
    response = post_form(admin_client, hostile_world, form, content=SCRIPT)
    assert response.status_code == 302, field_errors(response)
    step = CONTENT_FORMS[form](hostile_world)

    download = admin_client.get(reverse("steps:step_download", args=[step.pk]))
    panel = admin_client.get(reverse("steps:step_detail", args=[step.pk]))

    assert script_of(download.content.decode()) == STORED_SCRIPT
    assert copied_text(admin_client, panel, step) == download.content.decode()
