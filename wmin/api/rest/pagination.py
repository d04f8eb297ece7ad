from __future__ import annotations

from rest_framework.pagination import PageNumberPagination

from .. import settings as api_settings


class Pages(PageNumberPagination):
    """`?page=2&page_size=100`; the envelope gives count, next and previous links and results."""

    page_size = api_settings.PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = api_settings.MAX_PAGE_SIZE
