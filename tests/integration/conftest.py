"""Fixtures of the HTTP API tests (``tests.api_support``) for the integration tests."""

from tests.api_support import api, make_api, portal

__all__ = ["api", "make_api", "portal"]
