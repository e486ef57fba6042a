"""Fixtures of the index tests: one BackendCase per scheme that can run here."""

from __future__ import annotations

import pytest
from backends import BACKENDS


@pytest.fixture(params=sorted(BACKENDS))
def case(request, tmp_path):
    """A fresh index of each backend, with its readers' checks (the backend's own client)."""
    made = BACKENDS[request.param](tmp_path)
    yield made
    made.close()
