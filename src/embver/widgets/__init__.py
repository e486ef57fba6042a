"""Notebook widgets (anywidget): the UI's WebGL scatter of a version or a comparison.

``embver.widget(version)`` is the version page's scatter and ``embver.widget(comparison,
store=store)`` the compare page's two linked panes with a morph slider, drawn by the
same front-end code as ``embver ui`` (the ``assets/widget.js`` module of its bundle) from
the same data (:mod:`embver.server.data`) in the same binary frames
(:mod:`embver.server.binary`). Names load on first use: ``import embver.widgets`` loads
neither anywidget nor numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver._lazy import lazy_exports

if TYPE_CHECKING:
    from embver.widgets.scatter import ComparisonWidget, VersionWidget, widget

_EXPORTS = {
    "ComparisonWidget": "embver.widgets.scatter",
    "VersionWidget": "embver.widgets.scatter",
    "widget": "embver.widgets.scatter",
}

__all__ = [
    "ComparisonWidget",
    "VersionWidget",
    "widget",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
