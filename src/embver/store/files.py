"""Reading vectors, ids and recipes from files (.npy, .parquet, .csv, YAML/JSON), and
checking the files a command writes (:func:`output_path`, :func:`writing`)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from embver.errors import InvalidInputError, RecipeError


def output_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a file to write, checked before any work is done: its folder exists
    and it is not itself a folder."""
    target = Path(path).expanduser()
    folder = target.parent
    if target.is_dir():
        raise InvalidInputError(f"cannot write {str(target)!r}: it is a folder; give a file name")
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(
            f"cannot write {str(target)!r}: {str(folder)!r} is a file, not a folder; "
            "write somewhere else"
        )
    if not folder.is_dir():
        raise InvalidInputError(
            f"cannot write {str(target)!r}: the folder {str(folder)!r} does not exist; "
            f"create it (mkdir -p {folder}) or write somewhere else"
        )
    return target


@contextlib.contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """:func:`output_path` around the code that writes ``path``: an ``OSError`` there
    (no permission, a full disk) comes out as one line naming the file."""
    target = output_path(path)
    try:
        yield target
    except OSError as exc:
        raise InvalidInputError(
            f"cannot write {str(target)!r}: {exc.strerror or exc}; check the folder's "
            "permissions and free space, or write somewhere else"
        ) from None


def read_vectors_file(
    path: str | Path,
    ids_path: str | Path | None = None,
    id_column: str = "id",
    vector_column: str | None = None,
) -> tuple[Any, Any, dict[str, Any]]:
    """Vectors, ids and item columns from ``path`` (.npy with an ids file, .parquet, .csv).

    A table's vectors are ``vector_column`` (a list column), else its ``vector``
    column, else its only list column, else every numeric column but the id.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"input file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _read_npy(path, ids_path)
    if suffix == ".parquet":
        return _from_table(_read_parquet(path), id_column, path, vector_column)
    if suffix == ".csv":
        return _from_table(_read_csv(path), id_column, path, vector_column)
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


def _from_table(
    table: pa.Table, id_column: str, path: Path, vector_column: str | None = None
) -> tuple[Any, Any, dict[str, Any]]:
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
    list_column = _list_column(table, id_column, path, vector_column)
    if list_column is not None:
        return table.column(list_column), ids, items
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
            f"{str(path)!r}: columns {bad[:5]} are not numeric; give the vectors as numeric "
            "columns or as one list column (--vector-col NAME)"
        )
    matrix = np.column_stack([table.column(n).to_numpy() for n in numeric])
    return matrix, ids, items


def _is_list(column: pa.ChunkedArray) -> bool:
    kind = column.type
    return bool(
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    )


def _list_column(table: pa.Table, id_column: str, path: Path, chosen: str | None) -> str | None:
    """The column holding one vector per row: ``chosen``, else ``vector``, else the only
    list column; None when the vectors are spread over numeric columns."""
    if chosen is not None:
        if chosen not in table.column_names:
            raise InvalidInputError(
                f"{str(path)!r} has no column {chosen!r} for --vector-col; "
                f"columns: {table.column_names}"
            )
        if not _is_list(table.column(chosen)):
            raise InvalidInputError(
                f"{str(path)!r}: --vector-col {chosen!r} is of type {table.column(chosen).type}, "
                "not a list of numbers; name the column holding one vector per row"
            )
        return chosen
    if "vector" in table.column_names:
        return "vector"
    lists = [n for n in table.column_names if n != id_column and _is_list(table.column(n))]
    if len(lists) > 1:
        raise InvalidInputError(
            f"{str(path)!r} has several list columns {lists}; choose the vectors with "
            "--vector-col NAME"
        )
    return lists[0] if lists else None


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
    except json.JSONDecodeError as exc:
        raise RecipeError(f"recipe file {str(path)!r} is malformed JSON: {exc}") from None
    except yaml.YAMLError as exc:
        raise RecipeError(
            f"recipe file {str(path)!r} is malformed YAML: {_yaml_problem(exc)}; fix the file"
        ) from None
    if not isinstance(data, dict):
        raise RecipeError(
            f"recipe file {str(path)!r} must hold a mapping, got {type(data).__name__}"
        )
    return data


def _yaml_problem(error: Exception) -> str:
    """A YAML error on one line: where (1-based line and column) and what."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    if mark is None or problem is None:
        return " ".join(str(error).split())
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    context = getattr(error, "context", None)
    return f"{where}: {problem}" + (f" ({context})" if context else "")
