"""The widgets: a version's scatter and a comparison's two linked panes.

Each widget holds its points and colours as binary traits in the UI's wire formats: the
EVP1 frame of ``/api/versions/{ref}/points`` (or ``/api/compare/points``) and the EVC1
frame of ``.../colors``, built by the same :class:`~embver.server.data.UIData` calls, so
a point costs the widget what it costs the UI (4 bytes of position per pane, 1-2 of
colour). The front end asks for a hovered item with a custom message; the lasso
selection comes back as positions (``_selection``), which the widget turns into
``selected_ids``. Setting ``selected_ids``, ``color_by`` or ``morph`` from Python
updates the view.
"""

from __future__ import annotations

import weakref
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from embver.errors import DependencyError, InvalidInputError

try:
    import anywidget
    import traitlets
except ImportError as exc:  # the notebook extra is not installed
    raise DependencyError(
        f"embver's notebook widgets need anywidget ({exc.name} is missing): "
        "pip install 'embver[notebook]'"
    ) from exc

from embver.server.binary import encode_codes, encode_points
from embver.server.data import UIData, overlap_codes
from embver.server.frontend_build import DIST
from embver.server.registry import plain

if TYPE_CHECKING:
    from collections.abc import Sequence

    from embver.compare.comparison import Comparison
    from embver.store import Store, Version

#: the widget's ES module, built with the UI by ``npm run build`` in ``frontend/``
BUNDLE = DIST / "assets" / "widget.js"
#: colourings every version offers; ``meta:<key>`` adds one per metadata field
VERSION_COLOURS = ("default", "cluster", "label", "none")
COMPARISON_COLOURS = ("overlap", "cluster", "label")

# One read model per store, shared by its widgets: a second widget on a version reuses
# the layout, items and neighbours the first one loaded (versions are immutable).
_DATA: weakref.WeakKeyDictionary[Store, UIData] = weakref.WeakKeyDictionary()


def data_for(store: Store) -> UIData:
    """The read model the widgets of ``store`` share."""
    data = _DATA.get(store)
    if data is None:
        data = _DATA[store] = UIData(store)
    return data


@cache
def _bundle() -> str:
    if not BUNDLE.is_file():
        raise DependencyError(
            f"the widget's front end is not built ({BUNDLE} is missing); "
            "run `npm ci && npm run build` in frontend/"
        )
    return BUNDLE.read_text(encoding="utf-8")


class _ScatterWidget(anywidget.AnyWidget):
    """What both widgets share: frames, colouring, selection and hovered items."""

    kind = traitlets.Unicode().tag(sync=True)
    #: height of a pane in CSS pixels
    height = traitlets.Int(480).tag(sync=True)
    #: the colouring: cluster, label, none, meta:<key> (and default/overlap per widget)
    color_by = traitlets.Unicode().tag(sync=True)
    #: item ids of the selected points (lasso, click, or set here), in point order
    selected_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _points = traitlets.Bytes().tag(sync=True)
    _codes = traitlets.Bytes().tag(sync=True)
    _selection = traitlets.List(traitlets.Int()).tag(sync=True)
    _color_options = traitlets.List(traitlets.Unicode()).tag(sync=True)
    _title = traitlets.Unicode().tag(sync=True)
    _subtitle = traitlets.Unicode().tag(sync=True)

    @property
    def _esm(self) -> str:
        # read when a widget is made, not at import: the bundle may be built later
        return _bundle()

    def __init__(self, data: UIData, ids: Sequence[str], **traits: Any) -> None:
        self._data = data
        #: the item id of each point, in the frames' order
        self._ids = list(ids)
        self._position: dict[str, int] | None = None
        super().__init__(**traits)
        self.on_msg(self._on_message)

    # -- colours -------------------------------------------------------------
    def _codes_for(self, by: str) -> tuple[np.ndarray, dict[str, Any]]:
        raise NotImplementedError

    @traitlets.validate("color_by")
    def _valid_colour(self, proposal: dict[str, Any]) -> str:
        by = str(proposal["value"])
        if by not in self._color_options and not by.startswith("meta:"):
            raise InvalidInputError(
                f"colour by {by!r} is unknown; use one of {', '.join(self._color_options)}"
            )
        return by

    @traitlets.observe("color_by")
    def _recolour(self, change: dict[str, Any]) -> None:
        codes, legend = self._codes_for(change["new"])
        self._codes = encode_codes(codes, legend)

    # -- selection -----------------------------------------------------------
    @traitlets.validate("selected_ids")
    def _valid_ids(self, proposal: dict[str, Any]) -> list[str]:
        ids = [str(i) for i in proposal["value"]]
        missing = [i for i in ids if i not in self._positions()]
        if missing:
            raise InvalidInputError(
                f"{len(missing)} selected id(s) are not points of this widget, "
                f"e.g. {missing[0]!r}; select ids of the shown items"
            )
        return ids

    @traitlets.observe("selected_ids")
    def _select_ids(self, change: dict[str, Any]) -> None:
        positions = self._positions()
        selection = sorted(positions[i] for i in change["new"])
        if selection != sorted(self._selection):
            self._selection = selection

    @traitlets.observe("_selection")
    def _select_positions(self, change: dict[str, Any]) -> None:
        n = len(self._ids)
        positions = sorted({int(p) for p in change["new"] if 0 <= int(p) < n})
        ids = [self._ids[p] for p in positions]
        if ids != self.selected_ids:
            self.selected_ids = ids

    def _positions(self) -> dict[str, int]:
        if self._position is None:
            self._position = {item: n for n, item in enumerate(self._ids)}
        return self._position

    # -- hovered items -------------------------------------------------------
    def _item(self, index: int) -> dict[str, Any]:
        raise NotImplementedError

    def _on_message(self, _: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "item":
            return
        try:
            item: dict[str, Any] | None = plain(self._item(int(content["index"])))
        except (InvalidInputError, KeyError, TypeError, ValueError):
            item = None
        self.send({"type": "item", "token": content.get("token"), "item": item})

    # -- sizes ---------------------------------------------------------------
    @property
    def frame_bytes(self) -> int:
        """Bytes of points and colours the front end receives (the UI's two frames)."""
        return len(self._points) + len(self._codes)


class VersionWidget(_ScatterWidget):
    """A version's 2-D layout as the UI's version page draws it.

    ``method`` is the layout (umap, pca, tsne; by default the one ``embver ui`` picks for
    the version); ``color_by`` is ``default`` (labels when the items have any, else
    clusters), ``cluster``, ``label``, ``none`` or ``meta:<key>``.
    """

    def __init__(
        self,
        version: Version,
        *,
        method: str | None = None,
        color_by: str = "default",
        height: int = 480,
    ) -> None:
        data = data_for(version.store)
        view = data.view(version.ref)
        self.version = version
        self.method = (method or data.default_method(view)).lower()
        self._view = view
        coords, _ = data.layout(view, self.method)
        options = [*VERSION_COLOURS, *(f"meta:{k}" for k in data.metadata_keys(view))]
        # the colour frame is encoded by the color_by observer, once the traits are set
        super().__init__(
            data,
            view.ids,
            kind="version",
            height=height,
            _color_options=options,
            _title=version.ref,
            _subtitle=f"{version.dim} dims · {version.metric} · layout {self.method}",
            _points=encode_points([coords]),
            color_by=color_by,
        )

    def _codes_for(self, by: str) -> tuple[np.ndarray, dict[str, Any]]:
        return self._data.colour_codes(self._view, by, self.method)

    def _item(self, index: int) -> dict[str, Any]:
        return self._data.item(self._view, index)


class ComparisonWidget(_ScatterWidget):
    """Two versions side by side over their shared items, as the UI's compare page draws them.

    Pane B's layout is fitted onto pane A's; hovering or selecting in one pane shows the
    same items in the other; ``morph`` (0 … 1) draws pane A part of the way to B's layout.
    ``color_by`` is ``overlap`` (each item's k-NN overlap, k=10), ``cluster``, ``label``
    or ``meta:<key>`` (of version A's items).
    """

    #: how far pane A is drawn from A's layout (0) to B's (1)
    morph = traitlets.Float(0.0).tag(sync=True)
    _refs = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(
        self,
        old: Version,
        new: Version,
        *,
        method: str | None = None,
        color_by: str = "overlap",
        height: int = 420,
    ) -> None:
        if old.store is not new.store:
            raise InvalidInputError(
                f"{old.ref} and {new.ref} come from different stores; open both from one store"
            )
        data = data_for(old.store)
        view_a, view_b = data.view(old.ref), data.view(new.ref)
        self.old, self.new = old, new
        # the layout embver ui picks for the pair: that of the larger version
        larger = view_a if len(view_a.ids) >= len(view_b.ids) else view_b
        self.method = (method or data.default_method(larger)).lower()
        self._views = (view_a, view_b)
        pos_a, _ = data.shared(view_a, view_b)
        if len(pos_a) == 0:
            raise InvalidInputError(
                f"{old.ref} and {new.ref} share no items; compare versions that do"
            )
        self._shared = pos_a
        coords_a, coords_b = data.aligned_layouts(view_a, view_b, self.method)
        options = [*COMPARISON_COLOURS, *(f"meta:{k}" for k in data.metadata_keys(view_a))]
        super().__init__(
            data,
            [view_a.ids[p] for p in pos_a],
            kind="comparison",
            height=height,
            _color_options=options,
            _title=f"{old.ref} → {new.ref}",
            _subtitle=f"layout {self.method}",
            _refs=[old.ref, new.ref],
            _points=encode_points([coords_a, coords_b]),
            color_by=color_by,
        )

    def _codes_for(self, by: str) -> tuple[np.ndarray, dict[str, Any]]:
        # what /api/compare/colors answers: overlap of the shared items, or A's colours
        view_a, view_b = self._views
        if by == "overlap":
            return overlap_codes(self._data.overlap(view_a, view_b))
        codes, legend = self._data.colour_codes(view_a, by, self.method)
        return codes[self._shared], legend

    @traitlets.validate("morph")
    def _valid_morph(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if not 0.0 <= value <= 1.0:
            raise InvalidInputError(f"morph {value} is outside 0 … 1; 0 is A's layout, 1 B's")
        return value

    def _item(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self._shared):
            raise InvalidInputError(f"point {index} is out of range 0..{len(self._shared) - 1}")
        return self._data.item(self._views[0], int(self._shared[index]))


def widget(
    obj: Version | Comparison,
    *,
    store: Store | None = None,
    method: str | None = None,
    color_by: str | None = None,
    height: int | None = None,
) -> VersionWidget | ComparisonWidget:
    """A notebook widget: a version's scatter, or a comparison's two linked panes.

    A :class:`~embver.compare.comparison.Comparison` names its versions by reference, so
    pass the ``store`` it came from. ``method``, ``color_by`` and ``height`` as in
    :class:`VersionWidget` / :class:`ComparisonWidget`.
    """
    from embver.compare.comparison import Comparison
    from embver.store import Version

    options: dict[str, Any] = {"method": method}
    if color_by is not None:
        options["color_by"] = color_by
    if height is not None:
        options["height"] = height
    if isinstance(obj, Version):
        return VersionWidget(obj, **options)
    if isinstance(obj, Comparison):
        if store is None:
            raise InvalidInputError(
                "a Comparison names its versions but holds no store: "
                "call embver.widget(comparison, store=store)"
            )
        return ComparisonWidget(store.get(obj.old), store.get(obj.new), **options)
    raise InvalidInputError(
        f"embver.widget takes a Version or a Comparison, not {type(obj).__name__}"
    )
