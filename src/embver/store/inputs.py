"""Turning user input (numpy, pandas, pyarrow, polars, lists) into checked arrays.

Everything here raises :class:`~embver.errors.InvalidInputError` naming the
problem *before* anything is written, so bad input leaves the store unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pyarrow as pa

from embver.errors import InvalidInputError

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd
    import polars as pl

#: vectors ``register`` accepts: an (n, dim) array or nested lists, an Arrow list array, or a
#: pandas / polars / Arrow table with ``vector`` (and ``id``) columns
VectorInput: TypeAlias = (
    "npt.ArrayLike | pa.Array | pa.ChunkedArray | pa.Table | pd.DataFrame | pl.DataFrame"
)
#: ids ``register`` accepts: a sequence or array of n strings (or ints, as text), or None when
#: the vectors are a table with an ``id`` column
IdsInput: TypeAlias = "npt.ArrayLike | pa.Array | pa.ChunkedArray | None"
#: per-item metadata: one mapping per item, or a frame with one row per item
MetadataInput: TypeAlias = "Sequence[Mapping[str, object]] | pd.DataFrame | None"


@dataclass(frozen=True)
class Batch:
    """Checked input: ``ids`` (n,) strings and ``vectors`` (n, d) of the recipe's dtype."""

    ids: pa.Array
    vectors: np.ndarray
    items: pa.Table | None


def _is_polars(obj: Any) -> bool:
    return type(obj).__module__.startswith("polars")


def _is_pandas(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas")


def split_frame(vectors: Any, ids: Any) -> tuple[Any, Any]:
    """Accept a frame with ``id`` and ``vector`` columns as vectors-with-ids."""
    if _is_polars(vectors):
        vectors = vectors.to_arrow()
    if _is_pandas(vectors) and hasattr(vectors, "columns"):
        vectors = pa.Table.from_pandas(vectors, preserve_index=False)
    if isinstance(vectors, pa.Table):
        if "vector" not in vectors.column_names:
            raise InvalidInputError(
                f"a table of vectors needs a 'vector' column; it has {vectors.column_names}"
            )
        if ids is None and "id" in vectors.column_names:
            ids = vectors.column("id")
        vectors = vectors.column("vector")
    return vectors, ids


def as_matrix(vectors: Any) -> np.ndarray:
    """A 2-D float64-or-narrower array from arrays, lists, Arrow lists or pandas Series."""
    if isinstance(vectors, pa.ChunkedArray):
        vectors = vectors.combine_chunks()
    if isinstance(vectors, pa.FixedSizeListArray):
        return _check_numeric(vectors.values.to_numpy(zero_copy_only=False)).reshape(
            len(vectors), vectors.type.list_size
        )
    if isinstance(vectors, (pa.ListArray, pa.LargeListArray)):
        vectors = vectors.to_pylist()
    if _is_polars(vectors):
        vectors = vectors.to_numpy()
    if _is_pandas(vectors):
        vectors = vectors.to_list() if vectors.ndim == 1 else vectors.to_numpy()
    if isinstance(vectors, np.ndarray) and vectors.dtype != object:
        array = vectors
    else:
        array = _from_rows(vectors)
    if array.ndim != 2:
        raise InvalidInputError(
            f"vectors must be a 2-D array of shape (n_items, dim), got shape {array.shape}"
        )
    return _check_numeric(array)


def _from_rows(rows: Any) -> np.ndarray:
    try:
        lengths = {len(row) for row in rows}
    except TypeError:
        raise InvalidInputError(
            "vectors must be a 2-D array or a sequence of equal-length rows of numbers"
        ) from None
    if len(lengths) > 1:
        raise InvalidInputError(f"vectors are ragged: rows have lengths {sorted(lengths)[:5]}")
    try:
        return np.asarray([np.asarray(row) for row in rows])
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"vectors cannot be read as numbers: {exc}") from None


def _check_numeric(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind not in "fiu":
        raise InvalidInputError(
            f"vectors must have a numeric dtype (float or int), got dtype {array.dtype}"
        )
    return array


@dataclass(frozen=True)
class Unchecked:
    """Input ready to write whose values are not checked yet (:func:`check_values`):
    ``ids`` (n,) strings, ``vectors`` (n, d) cast to ``dtype``, and ``given``, the
    vectors as given (what an error about a value beyond ``dtype``'s range quotes)."""

    ids: pa.Array
    vectors: np.ndarray
    given: np.ndarray
    dtype: str


def prepare(vectors: Any, ids: Any, dim: int, dtype: str) -> Unchecked:
    """Convert ``vectors`` and ``ids`` and check their shapes, not yet their values.

    What is checked here costs nothing per value (types, counts, nulls, the width);
    :func:`check_values` then checks the rest, so that it may run while the vectors
    are written. Errors come in the order :func:`as_ids` then :func:`check_vectors`
    raise them.
    """
    vectors, ids = split_frame(vectors, ids)
    matrix = as_matrix(vectors)
    id_array = _as_id_array(ids, matrix.shape[0])
    problem = _shape_problem(matrix, dim)
    if problem:
        _check_id_values(id_array)
        raise InvalidInputError(problem)
    return Unchecked(id_array, _cast(matrix, dtype), matrix, dtype)


def check_values(unchecked: Unchecked) -> None:
    """Refuse empty and duplicate ids, then non-finite vectors (InvalidInputError)."""
    _check_id_values(unchecked.ids)
    _check_finite(unchecked.given, unchecked.vectors, unchecked.ids, unchecked.dtype)


def as_ids(ids: Any, count: int) -> pa.Array:
    """A string array of ``count`` unique, non-empty ids."""
    return _check_id_values(_as_id_array(ids, count))


def _as_id_array(ids: Any, count: int) -> pa.Array:
    """A string array of ``count`` ids without nulls (not yet checked for empty or
    duplicate ids)."""
    if ids is None:
        raise InvalidInputError("ids are required: pass ids=[...] with one string per vector")
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    if _is_polars(ids) or _is_pandas(ids):
        ids = ids.to_list()
    if isinstance(ids, np.ndarray):
        ids = ids.tolist()
    if isinstance(ids, (str, bytes)):
        raise InvalidInputError("ids must be a sequence of strings, not a single string")
    if isinstance(ids, list):
        ids = _string_array_or_list(ids)
    if not isinstance(ids, pa.Array):
        try:
            ids = list(ids)
        except TypeError:
            raise InvalidInputError(
                f"ids must be a sequence of strings, got {type(ids).__name__}"
            ) from None
        bad_positions = [n for n, i in enumerate(ids) if not isinstance(i, str)]
        if bad_positions:
            bad = ids[bad_positions[0]]
            raise InvalidInputError(
                f"ids must be strings; found {bad!r} of type {type(bad).__name__} "
                "(convert with [str(i) for i in ids])"
            )
        ids = pa.array(ids, type=pa.string())
    elif not pa.types.is_string(ids.type) and not pa.types.is_large_string(ids.type):
        raise InvalidInputError(f"ids must be strings, got Arrow type {ids.type}")
    return _check_count(ids.cast(pa.string()), count)


def _string_array_or_list(ids: list[Any]) -> pa.Array | list[Any]:
    """A string array when every id is a str (Arrow checks that in C), else ``ids``
    unchanged for the element-by-element check that names the offending value."""
    try:
        array = pa.array(ids)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return ids
    if pa.types.is_string(array.type) and array.null_count == 0:
        return array
    return ids


def _check_count(ids: pa.Array, count: int) -> pa.Array:
    if len(ids) != count:
        raise InvalidInputError(f"got {len(ids)} ids for {count} vectors; they must match 1:1")
    if ids.null_count:
        raise InvalidInputError(f"ids contain {ids.null_count} null value(s)")
    return ids


def _check_id_values(ids: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    if pc.any(pc.equal(pc.utf8_length(ids), 0)).as_py():
        raise InvalidInputError("ids contain an empty string; every id must be non-empty")
    unique = pc.unique(ids)
    if len(unique) != len(ids):
        counts = pc.value_counts(ids)
        duplicated = [row["values"] for row in counts.to_pylist() if row["counts"] > 1][:5]
        raise InvalidInputError(
            f"ids contain {len(ids) - len(unique)} duplicate(s), e.g. {duplicated}"
        )
    return ids


def check_vectors(array: np.ndarray, ids: pa.Array, dim: int, dtype: str) -> np.ndarray:
    """Cast to ``dtype`` and refuse empty input, wrong width and non-finite values."""
    problem = _shape_problem(array, dim)
    if problem:
        raise InvalidInputError(problem)
    stored = _cast(array, dtype)
    _check_finite(array, stored, ids, dtype)
    return stored


def _shape_problem(array: np.ndarray, dim: int) -> str | None:
    """What is wrong with the shape of ``array`` (n, d) for a recipe of width ``dim``."""
    if array.shape[0] == 0:
        return "no vectors given: the set of vectors is empty"
    if array.shape[1] != dim:
        return f"vectors have dimension {array.shape[1]} but the recipe says dim={dim}"
    return None


def _cast(array: np.ndarray, dtype: str) -> np.ndarray:
    """``array`` as a C-contiguous array of ``dtype`` (itself when it is one already)."""
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(array, dtype=np.dtype(dtype))


def _check_finite(given: np.ndarray, stored: np.ndarray, ids: pa.Array, dtype: str) -> None:
    """Refuse rows of ``stored`` (``given`` cast to ``dtype``) that hold NaN or inf.

    Checked after the cast: a finite float64 beyond the stored dtype's range becomes inf.
    A finite sum of all values proves them all finite (NaN and inf carry through a sum)
    in one cheap pass; only a sum that is not (bad rows, or finite values summing past
    the dtype's range) needs the row-by-row look that names the first bad row.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(stored.sum()):
            return
    finite = _finite_rows(stored)
    if not finite.all():
        row = int(np.argmin(finite))
        if np.isfinite(given[row]).all():
            raise _overflow(given, ids, row, dtype)
        raise InvalidInputError(
            f"vectors contain NaN or inf in {int((~finite).sum())} row(s), first at id "
            f"{ids[row].as_py()!r} (row {row})"
        )


def _overflow(array: np.ndarray, ids: pa.Array, row: int, dtype: str) -> InvalidInputError:
    """The error for row ``row`` of ``array`` (n, d), finite but beyond ``dtype``'s range."""
    limit = float(np.finfo(np.dtype(dtype)).max)
    column = int(np.argmax(np.abs(array[row]) > limit))
    return InvalidInputError(
        f"vectors exceed the {dtype} range (±{limit:g}): value {float(array[row, column]):g} at id "
        f"{ids[row].as_py()!r} (row {row}, column {column}) would be stored as inf; "
        "rescale the vectors (e.g. normalise them) before registering"
    )


def _finite_rows(array: np.ndarray, block: int = 16384) -> np.ndarray:
    """Per row, whether all its values are finite; in row blocks, so no (n, d) mask is
    built, spread over the cores (numpy releases the GIL inside ``isfinite``)."""
    from concurrent.futures import ThreadPoolExecutor

    finite = np.empty(array.shape[0], dtype=bool)

    def check(start: int) -> None:
        np.isfinite(array[start : start + block]).all(axis=1, out=finite[start : start + block])

    starts = range(0, array.shape[0], block)
    if len(starts) < 4:
        for start in starts:
            check(start)
    else:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(check, starts))
    return finite


ITEM_FIELDS = ("text", "label", "uri")


def item_table(
    ids: pa.Array,
    texts: Sequence[Any] | None = None,
    labels: Sequence[Any] | None = None,
    uris: Sequence[Any] | None = None,
    metadata: Sequence[Mapping[str, Any]] | Any | None = None,
) -> pa.Table:
    """The item rows for ``ids`` (id, text, label, uri, metadata as JSON text)."""
    import json

    columns: dict[str, Any] = {"id": ids}
    for name, values in zip(ITEM_FIELDS, (texts, labels, uris), strict=True):
        columns[name] = _item_column(name, values, len(ids))
    if _is_pandas(metadata) and hasattr(metadata, "to_dict"):
        metadata = metadata.to_dict(orient="records")  # type: ignore[union-attr]
    if metadata is not None:
        metadata = list(metadata)
        if len(metadata) != len(ids):
            raise InvalidInputError(f"got {len(metadata)} metadata rows for {len(ids)} ids")
        try:
            encoded = [json.dumps(m, sort_keys=True, default=_json_default) for m in metadata]
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"metadata is not JSON-serialisable: {exc}") from None
        columns["metadata"] = pa.array(encoded, type=pa.string())
    else:
        columns["metadata"] = pa.nulls(len(ids), type=pa.string())
    return pa.table(columns)


def _item_column(name: str, values: Sequence[Any] | None, count: int) -> pa.Array:
    if values is None:
        return pa.nulls(count, type=pa.string())
    values = list(values)
    if len(values) != count:
        raise InvalidInputError(f"got {len(values)} {name}s for {count} ids; they must match 1:1")
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{value!r} of type {type(value).__name__}")
