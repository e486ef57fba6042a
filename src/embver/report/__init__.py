"""The static report: one self-contained, offline HTML file comparing two versions."""

from __future__ import annotations

from embver.report.build import ReportFile, build_report, write_report

__all__ = ["ReportFile", "build_report", "write_report"]
