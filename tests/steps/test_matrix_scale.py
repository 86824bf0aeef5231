"""The matrix at scale (issue 10, item 2): compact cells, a constant number of queries for the page and for one
cluster's table loaded later, the later tables of a large matrix left to the browser, and gzip. Sizes and query
counts are asserted here; timings belong to the benchmark (make bench)."""

import gzip
import re

import pytest
from django.urls import reverse

from releases.services import release_activate
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory
from tests.steps.test_views import MATRIX_QUERIES

# Bytes of the page per cell, headers and the page around the tables included, for a matrix of a few hundred cells
# or more: a cell is about 120 bytes (its id twice, version and status), a customer's header about 350. At 500
# customers by 20 steps that is about 1.4 MB.
BYTES_PER_CELL = 150
PAGE_AROUND = 40_000  # the page without its tables: head, navigation, filters, legend, dialogs


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


def _release(user, *, customers: int, steps: int, clusters: int = 4):
    cluster_list = [ClusterFactory(name=f"cluster-{n}") for n in range(clusters)]
    for index in range(customers):
        CustomerFactory(cluster=cluster_list[index % clusters])
    release = ReleaseFactory()
    StepTemplateFactory.create_batch(steps, release=release, category="deploy")
    release_activate(release=release, user=user)
    return release, cluster_list


def _matrix(release) -> str:
    return reverse("steps:matrix", args=[release.pk])


def test_a_cell_is_compact_and_the_page_stays_within_its_bytes_per_cell(client, user):
    release, _ = _release(user, customers=40, steps=10)

    response = client.get(_matrix(release))

    html = response.content.decode()
    assert html.count('<button id="cell-') == 400
    assert len(response.content) <= PAGE_AROUND + 400 * BYTES_PER_CELL
    # Whose step a cell is, the headers say: no title, no customer or step name in a cell.
    cell = re.search(r'<td><button id="cell-(\d+)"[^>]*>[^<]*</button></td>', html)
    id_digits = 2 * len(cell[1])  # the id, twice: as the button's id and as the value it submits
    assert "title=" not in cell[0] and len(cell[0].encode()) - id_digits <= 125


@pytest.mark.parametrize("customers", [12, 60])
def test_the_page_reads_a_constant_number_of_queries(client, user, customers, django_assert_max_num_queries):
    release, _ = _release(user, customers=customers, steps=5)

    with django_assert_max_num_queries(MATRIX_QUERIES):
        response = client.get(_matrix(release))

    assert response.content.decode().count('<button id="cell-') == customers * 5


@pytest.mark.parametrize("customers", [12, 60])
def test_a_later_clusters_table_reads_a_constant_number_of_queries(
    client, user, settings, customers, django_assert_max_num_queries
):
    settings.MATRIX_EAGER_CELLS = 0
    release, clusters = _release(user, customers=customers, steps=5)
    url = _matrix(release)

    with django_assert_max_num_queries(MATRIX_QUERIES):
        response = client.get(url, {"category": "deploy", "table": clusters[1].pk}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith("<form") and html.count('<button id="cell-') == customers // 4 * 5
    assert f'id="matrix-table-{clusters[1].pk}"' in html and "<html" not in html


def test_a_large_matrix_sends_its_first_clusters_and_leaves_the_others_to_the_browser(client, user, settings):
    settings.MATRIX_EAGER_CELLS = 60  # the first cluster: 10 customers by 5 steps
    release, clusters = _release(user, customers=40, steps=5)

    html = client.get(_matrix(release), {"status": "pending"}).content.decode()

    assert html.count('<button id="cell-') == 50
    assert f'id="matrix-table-{clusters[0].pk}"' in html
    for later in clusters[1:]:
        # Asked for when scrolled near, with the page's category and status filter; without JavaScript, a link to
        # the matrix filtered to that cluster.
        assert f'hx-get="{_matrix(release)}?category=deploy&amp;status=pending&amp;table={later.pk}"' in html
        assert f'href="?category=deploy&amp;status=pending&amp;cluster={later.pk}"' in html
    assert html.count('hx-trigger="intersect once"') == 3


def test_a_cluster_not_in_the_release_has_no_table(client, user, settings):
    release, _ = _release(user, customers=4, steps=1)
    stranger = ClusterFactory(name="elsewhere")

    response = client.get(_matrix(release), {"table": stranger.pk}, HTTP_HX_REQUEST="true")

    assert response.status_code == 404


def test_html_is_sent_gzipped_to_a_browser_that_asks(client, user):
    release, _ = _release(user, customers=8, steps=4)

    response = client.get(_matrix(release), HTTP_ACCEPT_ENCODING="gzip, deflate, br")

    assert response["Content-Encoding"] == "gzip" and "Accept-Encoding" in response["Vary"]
    assert '<button id="cell-' in gzip.decompress(response.content).decode()
    assert "Content-Encoding" not in client.get(_matrix(release)).headers
