"""Reading vectors, ids and recipes from files (.npy, .parquet, .csv, YAML/JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from embver.errors import InvalidInputError, RecipeError


def read_vectors_file(
    path: str | Path, ids_path: str | Path | None = None, id_column: str = "id"
) -> tuple[Any, Any, dict[str, Any]]:
    """Vectors, ids and item columns from ``path`` (.npy with an ids file, .parquet, .csv)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"input file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _read_npy(path, ids_path)
    if suffix == ".parquet":
        return _from_table(_read_parquet(path), id_column, path)
    if suffix == ".csv":
        return _from_table(_read_csv(path), id_column, path)
    raise InvalidInputError(
        f"input file {str(path)!r} has unknown type {suffix!r}; use .npy, .parquet or .csv"
    )


def _read_npy(path: Path, ids_path: str | Path | None) -> tuple[Any, Any, dict[str, Any]]:
    try:
        vectors = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidInputError(f"{str(path)!r} is not a readable .npy array: {exc}") from None
    if ids_path is None:
        raise InvalidInputError(f"{str(path)!r} holds no ids: pass --ids FILE (one id per line)")
    try:
        ids = Path(ids_path).read_text().splitlines()
    except OSError as exc:
        raise InvalidInputError(f"ids file {str(ids_path)!r} cannot be read: {exc}") from None
    return vectors, ids, {}


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInputError(f"{str(path)!r} is not a readable Parquet file: {exc}") from None


def _read_csv(path: Path) -> pa.Table:
    import pyarrow.csv as pacsv

    try:
        return pacsv.read_csv(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInputError(f"{str(path)!r} is not a readable CSV file: {exc}") from None


_ITEM_COLUMNS = ("text", "label", "uri")


def _from_table(table: pa.Table, id_column: str, path: Path) -> tuple[Any, Any, dict[str, Any]]:
    if id_column not in table.column_names:
        raise InvalidInputError(
            f"{str(path)!r} has no id column {id_column!r}; columns: {table.column_names}"
        )
    ids = (
        table.column(id_column).cast(pa.string())
        if pa.types.is_integer(table.column(id_column).type)
        else table.column(id_column)
    )
    items = {
        name: table.column(name).to_pylist() for name in _ITEM_COLUMNS if name in table.column_names
    }
    if "vector" in table.column_names:
        return table.column("vector"), ids, items
    numeric = [
        name for name in table.column_names if name != id_column and name not in _ITEM_COLUMNS
    ]
    if not numeric:
        raise InvalidInputError(f"{str(path)!r} has no 'vector' column and no numeric columns")
    bad = [
        n
        for n in numeric
        if not pa.types.is_floating(table.column(n).type)
        and not pa.types.is_integer(table.column(n).type)
    ]
    if bad:
        raise InvalidInputError(
            f"{str(path)!r}: columns {bad[:5]} are not numeric; vector columns must be numbers"
        )
    matrix = np.column_stack([table.column(n).to_numpy() for n in numeric])
    return matrix, ids, items


def read_recipe_file(path: str | Path) -> dict[str, Any]:
    """A recipe mapping from a YAML or JSON file."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise RecipeError(f"recipe file {str(path)!r} cannot be read: {exc}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise RecipeError(f"recipe file {str(path)!r} is malformed: {exc}") from None
    if not isinstance(data, dict):
        raise RecipeError(
            f"recipe file {str(path)!r} must hold a mapping, got {type(data).__name__}"
        )
    return data
