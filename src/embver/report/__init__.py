"""The static report: one self-contained, offline HTML file comparing two versions.

Names load on first use (the report pulls in the science and the store).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver._lazy import lazy_exports

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


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
