"""The static report: one self-contained, offline HTML file comparing two versions.

Names load on first use (the report pulls in the science and the store).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embver.report.build import ReportFile, build_report, write_report

_EXPORTS = {
    "ReportFile": "embver.report.build",
    "build_report": "embver.report.build",
    "write_report": "embver.report.build",
}

__all__ = [
    "ReportFile",
    "build_report",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'embver.report' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    # Bind every name the submodule provides, so later look-ups skip this function and
    # a submodule named like one of its functions (composite.impact) yields the function.
    globals().update({n: getattr(loaded, n) for n, m in _EXPORTS.items() if m == module})
    return globals()[name]
