"""Spec §7.1, new customer onboarding, walked in the browser: a new cluster and a new customer in it, an onboarding
release with deploy and verify steps, activated for the new customer only, one step customized for it, every step
done and the progress following."""

from playwright.sync_api import expect

from customers.models import Customer
from releases.choices import ReleaseStatus
from releases.models import Release
from steps.choices import StepStatus
from steps.models import CustomerStep
from tests.browser.matrix_world import matrix_cell
from tests.factories import ClusterFactory, CustomerFactory

CREATE_NAMESPACE = "kubectl create namespace cust-f-prod"
CUSTOMIZED = "kubectl create namespace cust-f-prod\nkubectl label namespace cust-f-prod tier=gold"


def test_onboarding_a_new_customer_from_cluster_to_done(logged_in, live_server, add_template_step):
    page = logged_in
    # A customer already running elsewhere: the onboarding release is for the new customer only.
    CustomerFactory(name="customer-a", namespace="cust-a-prod", cluster=ClusterFactory(name="prod-us"))
    nav = page.get_by_role("navigation", name="Main")

    # 1. A new cluster: name, kubeconfig path, description.
    nav.get_by_role("link", name="Clusters").click()
    page.get_by_role("link", name="+ Cluster").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("prod-ap")
    page.get_by_label("Kubeconfig path").fill("~/.kube/prod-ap-config")
    page.get_by_label("Description").fill("Asia-Pacific production")
    page.get_by_role("button", name="Create cluster").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cluster prod-ap")
    expect(page.locator("#messages")).to_contain_text("Cluster prod-ap created.")
    expect(page.locator(".kv")).to_contain_text("~/.kube/prod-ap-config")

    # 2. A new customer in it: cluster, namespace, name, description.
    nav.get_by_role("link", name="Customers").click()
    page.get_by_role("link", name="+ Add").click()
    page.get_by_label("Cluster").select_option(label="prod-ap")
    page.get_by_role("textbox", name="Name", exact=True).fill("customer-f")
    page.get_by_label("Namespace").fill("cust-f-prod")
    page.get_by_label("Description").fill("Joins in Q3")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Customer: customer-f")
    expect(page.locator(".kv").first).to_contain_text("prod-ap")
    expect(page.locator(".kv").first).to_contain_text("cust-f-prod")
    customer = Customer.objects.get(name="customer-f")
    assert (customer.cluster.name, customer.namespace) == ("prod-ap", "cust-f-prod")

    # 3. An onboarding release and its template steps.
    nav.get_by_role("link", name="Releases").click()
    page.get_by_role("link", name="+ Release").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("Onboard customer-f")
    page.get_by_label("Type").select_option(label="Onboarding")
    page.get_by_role("button", name="Create Release").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Onboard customer-f")
    head = page.locator(".page-head").first
    expect(head.locator(".badge.type-onboarding")).to_have_text("Onboarding")
    expect(head.locator(".badge.status-draft")).to_have_text("Draft")
    add_template_step(page, category="Deploy", name="Create namespace", type="Bash", content=CREATE_NAMESPACE)
    add_template_step(
        page, category="Deploy", name="Seed tenant", type="SQL", content="INSERT INTO tenants VALUES (6);"
    )
    add_template_step(page, category="Verify", name="Smoke test", type="Bash", content="curl -fsS https://f.example/")

    # 4. Activate for the new customer only: the dialog counts what it creates.
    page.get_by_role("link", name="Activate").click()
    dialog = page.locator("#dialog")
    count = dialog.locator("[data-picker-count]")
    expect(count).to_have_text("Creates 6 customer steps for 2 customers")
    expect(dialog.get_by_label("customer-a")).to_be_checked()
    expect(dialog.get_by_label("customer-f")).to_be_checked()
    dialog.locator("fieldset", has_text="prod-us").get_by_role("button", name="None", exact=True).click()
    expect(dialog.get_by_label("customer-a")).not_to_be_checked()
    expect(count).to_have_text("Creates 3 customer steps for 1 customer")
    expect(dialog.locator("[data-selection]")).to_be_visible()
    dialog.get_by_role("button", name="Activate").click()
    expect(dialog).to_be_hidden()
    expect(head.locator(".badge.status-active")).to_have_text("Active")
    expect(page.locator("#messages")).to_contain_text("Release Onboard customer-f is active.")
    release = Release.objects.get(name="Onboard customer-f")
    assert release.status == ReleaseStatus.ACTIVE
    assert (
        sorted(CustomerStep.objects.filter(release=release).values_list("customer__name", flat=True))
        == ["customer-f"] * 3
    )

    # 5. Customize one step for the customer in the matrix's side panel.
    page.get_by_role("link", name="Matrix").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Release: Onboard customer-f")
    matrix_url = page.url
    expect(page.locator("details.cluster-group")).to_have_count(1)
    expect(page.locator("details.cluster-group summary")).to_contain_text("prod-ap")
    expect(page.locator("table.matrix thead")).to_contain_text("customer-f")
    expect(page.locator("table.matrix thead")).to_contain_text("(cust-f-prod)")
    overall_deploy = page.locator("#progress-overall-deploy .value")
    expect(overall_deploy).to_have_text("0%")

    matrix_cell(page, "customer-f", "Create namespace").click()
    panel = page.locator("#side-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading", name="Step: Create namespace")).to_be_visible()
    expect(panel).to_contain_text("customer-f (prod-ap/cust-f-prod)")
    assert page.url == matrix_url
    override = panel.locator("details", has=page.locator("summary", has_text="Override Content"))
    override.locator("summary").click()
    override.get_by_label("Content for this customer").fill(CUSTOMIZED)
    override.get_by_role("button", name="Save").click()
    expect(panel.locator(".marker-overridden")).to_have_text("⚠️ OVERRIDDEN")
    expect(panel.get_by_text("View Original")).to_be_visible()
    cell = matrix_cell(page, "customer-f", "Create namespace")
    expect(cell.get_by_title("Overridden")).to_be_visible()
    step = CustomerStep.objects.get(release=release, name="Create namespace")
    assert (step.is_overridden, step.content, step.template.content) == (True, CUSTOMIZED, CREATE_NAMESPACE)

    # 6. Execute: each step done, the progress follows.
    panel.get_by_role("button", name="Mark as Done").click()
    expect(panel.locator("dd .status")).to_have_text("✅ Done")
    expect(cell).to_contain_text("✅ Done")
    expect(overall_deploy).to_have_text("50%")
    expect(page.locator(f"#progress-customer-{customer.pk}-deploy .value")).to_have_text("50%")

    # The panel lies over the matrix's right side: close it to reach the next cell.
    panel.get_by_role("button", name="✕ Close").click()
    expect(panel).to_be_hidden()
    matrix_cell(page, "customer-f", "Seed tenant").click()
    expect(panel.get_by_role("heading", name="Step: Seed tenant")).to_be_visible()
    panel.get_by_role("button", name="Mark as Done").click()
    expect(panel.locator("dd .status")).to_have_text("✅ Done")
    expect(overall_deploy).to_have_text("100%")

    panel.get_by_role("button", name="✕ Close").click()
    page.get_by_role("tab", name="Verify").click()
    expect(page.get_by_role("tab", name="Verify")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#progress-overall-verify .value")).to_have_text("0%")
    matrix_cell(page, "customer-f", "Smoke test").click()
    expect(panel.get_by_role("heading", name="Step: Smoke test")).to_be_visible()
    panel.get_by_role("button", name="Mark as Done").click()
    expect(page.locator("#progress-overall-verify .value")).to_have_text("100%")
    assert set(CustomerStep.objects.filter(release=release).values_list("status", flat=True)) == {StepStatus.DONE}
