"""The REST tests moved to tests/pgrest (the engine) and tests/gathergrid (its
resources through /rest/v1). This module only keeps ``api_for`` importable from
here for tests/tracking until its imports say ``tests.clients``; it has no
fixtures and no tests."""

from tests.clients import api_for

__all__ = ["api_for"]
