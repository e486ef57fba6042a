"""A static scatter of a layout as PNG bytes, for notebooks and reports (no JavaScript).

matplotlib (Agg, no display needed) is imported inside :func:`scatter_png`, so importing
the projection types stays light; without matplotlib the caller gets a DependencyError
naming the package to install.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from embver.errors import DependencyError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: categories beyond this many share the last colour ("other")
MAX_COLOURS = 20
NOISE_COLOUR: tuple[float, ...] = (0.72, 0.72, 0.72, 0.6)


def category_codes(values: Sequence[object] | np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer codes (n,) for ``values`` (most frequent first; -1 for None/-1 noise) and the
    category names, at most ``MAX_COLOURS`` (the rest are folded into "other")."""
    names = ["" if v is None or (isinstance(v, (int, np.integer)) and v < 0) else str(v)
             for v in values]  # fmt: skip
    distinct, counts = np.unique([n for n in names if n], return_counts=True)
    ordered = [str(d) for d in distinct[np.argsort(-counts, kind="stable")]]
    if len(ordered) > MAX_COLOURS:
        ordered = [*ordered[: MAX_COLOURS - 1], "other"]
    index = {name: i for i, name in enumerate(ordered)}
    other = index.get("other", len(ordered) - 1)
    codes = np.array([index.get(n, other) if n else -1 for n in names], dtype=np.int64)
    return codes, ordered


def scatter_png(
    coords: np.ndarray,
    colour_by: Sequence[object] | np.ndarray,
    *,
    title: str = "",
    size: tuple[float, float] = (5.0, 4.0),
    dpi: int = 100,
) -> bytes:
    """PNG bytes of the first two columns of ``coords`` (n, >=2), one colour per category of
    ``colour_by`` (n,) (grey for noise: None or a negative cluster), with a legend."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is a declared extra
        raise DependencyError(
            "a projection's picture needs matplotlib; pip install 'embver[notebook]'"
        ) from exc
    codes, names = category_codes(colour_by)
    figure = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    palette = _palette(len(names))
    points = np.asarray(coords, dtype=np.float64)[:, :2]
    marker = max(1.0, min(12.0, 3000.0 / max(len(points), 1)))
    groups = [(codes < 0, NOISE_COLOUR, "noise")]
    groups += [(codes == code, palette[code], name) for code, name in enumerate(names)]
    for chosen, colour, name in groups:
        if chosen.any():
            x, y = points[chosen, 0], points[chosen, 1]
            axes.scatter(x, y, s=marker, color=colour, linewidths=0, label=name)
    _decorate(axes, title, len(names))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _palette(count: int) -> list[tuple[float, ...]]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if count <= 10 else "tab20"]
    return [tuple(cmap(i % cmap.N)) for i in range(count)]


def _decorate(axes: Axes, title: str, categories: int) -> None:
    axes.set_title(title, fontsize=9)
    axes.set_xticks([])
    axes.set_yticks([])
    if 0 < categories <= MAX_COLOURS:
        axes.legend(fontsize=6, markerscale=2, loc="best", frameon=False)
