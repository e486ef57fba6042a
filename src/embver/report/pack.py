"""Binary packing of per-point arrays for the HTML report (base64 of little-endian typed arrays)."""

from __future__ import annotations

import base64

import numpy as np

#: numpy dtype -> the JavaScript typed array that reads it
TYPED_ARRAYS = {
    "float32": "Float32Array",
    "uint8": "Uint8Array",
    "int16": "Int16Array",
    "uint16": "Uint16Array",
    "int32": "Int32Array",
}


def pack_array(values: np.ndarray, dtype: str) -> dict[str, str | int]:
    """``{"type": JS typed array, "n": length, "b64": base64 bytes}`` for a 1-D array."""
    if dtype not in TYPED_ARRAYS:
        raise ValueError(f"dtype {dtype!r} has no JavaScript typed array here")
    data = np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<"))
    return {
        "type": TYPED_ARRAYS[dtype],
        "n": int(data.size),
        "b64": base64.b64encode(data.tobytes()).decode("ascii"),
    }


def unpack_array(packed: dict[str, str | int]) -> np.ndarray:
    """Inverse of :func:`pack_array` (used by tests to read a report back)."""
    dtype = {v: k for k, v in TYPED_ARRAYS.items()}[str(packed["type"])]
    raw = base64.b64decode(str(packed["b64"]))
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)


def quantize_unit(values: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Values in [0, 1] as uint8 0..250; 255 marks a missing value."""
    out = np.round(np.clip(np.nan_to_num(values, nan=0.0), 0, 1) * 250).astype(np.uint8)
    if missing is not None:
        out[missing] = 255
    return out
