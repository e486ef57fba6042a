"""Binary wire formats of the UI: point layouts and colour codes as raw typed arrays.

Every frame starts with a 16-byte little-endian header, then raw arrays, each
starting at a 4-byte aligned offset so the browser can view them without a copy::

    points   b"EVP1" | u32 n | u32 panes | u32 flags | per pane: f32 bounds[4]
             | per pane: u16 x[n], u16 y[n]                      (4 bytes/point/pane)
             | u32 rows[n]                        (only with flags & ROWS, see below)
    codes    b"EVC1" | u32 n | u32 code_bytes (1 or 2) | u32 legend_len
             | legend (UTF-8 JSON, padded to 4) | u8|u16 code[n]  (1-2 bytes/point)

Coordinates are quantised to 16 bits over each pane's bounding box (a 65 536
step grid: finer than any screen), so a point costs 4 bytes of position and 1-2
of colour; the client maps the grid back to [-1, 1].

A points frame of some of a version's items (the UI's sampled preview) sets the flag
:data:`ROWS` and ends with each point's position in the version's stored order.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

POINTS_MAGIC = b"EVP1"
CODES_MAGIC = b"EVC1"
_GRID = 65535
#: flag of a points frame that carries its points' positions (``u32 rows[n]``)
ROWS = 1


def _pad4(data: bytes) -> bytes:
    return data + b" " * (-len(data) % 4)


def quantise(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    """Quantise coords of shape (n, 2) to two uint16 arrays over their bounding box.

    The box is made square (same scale on both axes) so shapes keep their aspect.
    Returns ``(x, y, (xmin, xmax, ymin, ymax))``.
    """
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[1] < 2:
        raise ValueError(f"coords must have shape (n, 2), got {coords.shape}")
    finite = np.isfinite(coords[:, :2]).all(axis=1)
    xy = np.where(finite[:, None], coords[:, :2], 0.0)
    if len(xy) == 0:
        return np.zeros(0, np.uint16), np.zeros(0, np.uint16), (0.0, 1.0, 0.0, 1.0)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-12)
    lo, hi = centre - half, centre + half
    scaled = np.rint((xy - lo) / (hi - lo) * _GRID)
    q = np.clip(scaled, 0, _GRID).astype(np.uint16)
    return q[:, 0].copy(), q[:, 1].copy(), (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))


def encode_points(panes: Sequence[np.ndarray], rows: np.ndarray | None = None) -> bytes:
    """Encode one or more layouts of the same n points (each of shape (n, 2)).

    ``rows`` (n,): the position of each point among the version's items, when the
    frame holds only some of them (flag :data:`ROWS`).
    """
    n = len(panes[0]) if panes else 0
    if any(len(p) != n for p in panes):
        raise ValueError("every pane must hold the same number of points")
    if rows is not None and len(rows) != n:
        raise ValueError(f"rows has {len(rows)} positions for {n} points")
    quantised = [quantise(p) for p in panes]
    flags = 0 if rows is None else ROWS
    header = POINTS_MAGIC + struct.pack("<III", n, len(panes), flags)
    bounds = b"".join(struct.pack("<4f", *q[2]) for q in quantised)
    arrays = b"".join(_pad4(q[0].tobytes()) + _pad4(q[1].tobytes()) for q in quantised)
    positions = b"" if rows is None else np.asarray(rows, dtype="<u4").tobytes()
    return header + bounds + arrays + positions


def encode_codes(codes: np.ndarray, legend: dict[str, Any]) -> bytes:
    """Encode per-point colour codes (non-negative ints, shape (n,)) with their legend."""
    codes = np.asarray(codes)
    width = 1 if (len(codes) == 0 or int(codes.max()) < 256) else 2
    if len(codes) and (int(codes.min()) < 0 or int(codes.max()) >= 65536):
        raise ValueError("colour codes must lie in [0, 65535]")
    array = codes.astype(np.uint8 if width == 1 else np.uint16)
    legend_bytes = _pad4(json.dumps(legend, separators=(",", ":")).encode())
    header = CODES_MAGIC + struct.pack("<III", len(codes), width, len(legend_bytes))
    return header + legend_bytes + array.tobytes()


def decode_points(data: bytes) -> list[tuple[np.ndarray, tuple[float, ...]]]:
    """Inverse of :func:`encode_points` (to the grid): ``[(coords (n, 2), bounds), ...]``."""
    return decode_points_and_rows(data)[0]


def decode_points_and_rows(
    data: bytes,
) -> tuple[list[tuple[np.ndarray, tuple[float, ...]]], np.ndarray | None]:
    """:func:`decode_points` and the frame's point positions (n,) int64, or None."""
    if data[:4] != POINTS_MAGIC:
        raise ValueError("not an EVP1 points frame")
    n, panes, flags = struct.unpack_from("<III", data, 4)
    offset, out = 16 + 16 * panes, []
    column = n * 2 + (-(n * 2) % 4)
    for pane in range(panes):
        bounds = struct.unpack_from("<4f", data, 16 + 16 * pane)
        x = np.frombuffer(data, np.uint16, n, offset)
        y = np.frombuffer(data, np.uint16, n, offset + column)
        offset += 2 * column
        xy = np.stack([x, y], axis=1) / _GRID
        lo = np.array([bounds[0], bounds[2]])
        hi = np.array([bounds[1], bounds[3]])
        out.append((lo + xy * (hi - lo), bounds))
    rows = np.frombuffer(data, "<u4", n, offset).astype(np.int64) if flags & ROWS else None
    return out, rows


def decode_codes(data: bytes) -> tuple[np.ndarray, dict[str, Any]]:
    """Inverse of :func:`encode_codes`: ``(codes (n,), legend)``."""
    if data[:4] != CODES_MAGIC:
        raise ValueError("not an EVC1 codes frame")
    n, width, legend_len = struct.unpack_from("<III", data, 4)
    legend = json.loads(data[16 : 16 + legend_len].decode())
    dtype = np.uint8 if width == 1 else np.uint16
    return np.frombuffer(data, dtype, n, 16 + legend_len).astype(np.int64), legend
