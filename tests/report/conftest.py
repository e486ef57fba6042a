"""The report tests reuse the real-text fixtures of tests/project (bbc, bbc_store)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "embver_project_test_fixtures", Path(__file__).parent.parent / "project" / "conftest.py"
)
assert _spec and _spec.loader
_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _fixtures
_spec.loader.exec_module(_fixtures)

bbc = _fixtures.bbc
bbc_store = _fixtures.bbc_store
