"""Fixtures of the index tests: one BackendCase per scheme that can run here."""

from __future__ import annotations

import pytest
from backends import BACKENDS


@pytest.fixture(scope="session", autouse=True)
def shared_pgserver(tmp_path_factory):
    """One pgserver data folder for the whole run: xdist workers attach to the same server."""
    import os

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    os.environ["EMBVER_TEST_PGDATA"] = str(shared / "pgdata")


@pytest.fixture(params=sorted(BACKENDS))
def case(request, tmp_path):
    """A fresh index of each backend, with its readers' checks (the backend's own client)."""
    made = BACKENDS[request.param](tmp_path)
    yield made
    made.close()


@pytest.fixture(scope="session")
def versions_template(tmp_path_factory):
    """The store of :func:`versions`, built once per test run (xdist workers share it)."""
    import fcntl
    import os

    from stores import build_versions

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "index-store-template"
    with open(shared / "index-store-template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker builds, the others wait
        if not (root / "done").exists():
            built = build_versions(root / "project")
            assert built.v101.verdict["label"] == "drop-in"
            assert built.v102.verdict["label"] == "adapter"
            assert built.v103.verdict["label"] == "breaking"
            built.store.close()
            (root / "done").touch()
    return root / "project"


@pytest.fixture(scope="module")
def versions(versions_template, tmp_path_factory):
    """docs@1.0.0 and four successors with known verdicts (see stores.py), in a copy of
    the template store that this module may write to (journal, adapters, imports)."""
    import shutil

    from stores import open_versions

    copy = tmp_path_factory.mktemp("index-store") / "project"
    shutil.copytree(versions_template, copy)
    opened = open_versions(copy)
    yield opened
    opened.store.close()
