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


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """docs@1.0.0 and four successors with known verdicts (see stores.py)."""
    from stores import build_versions

    built = build_versions(tmp_path_factory.mktemp("index-store") / "project")
    assert built.v101.verdict["label"] == "drop-in"
    assert built.v102.verdict["label"] == "adapter"
    assert built.v103.verdict["label"] == "breaking"
    yield built
    built.store.close()
