"""Every API list comes in pages: `?page=2&page_size=100`, at most 500 a page."""

from rest_framework.pagination import PageNumberPagination


class ApiPagination(PageNumberPagination):
    """Page-numbered lists with the total count and links to the next and previous pages."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
