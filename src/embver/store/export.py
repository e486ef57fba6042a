"""Export a version's ids and vectors to files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from embver.errors import DependencyError, InvalidInputError
from embver.store.files import output_path, writing
from embver.store.vectors import vectors_of


def export_version(version: Any, output: str | Path) -> list[str]:
    """Write ``version`` to ``output`` (.parquet with id/vector, or .npy + .ids.txt)."""
    output = Path(output)
    suffix = output.suffix.lower()
    if suffix not in (".parquet", ".npy"):
        raise InvalidInputError(f"export file {str(output)!r} must end in .parquet or .npy")
    output = output_path(output)
    table = version.to_arrow()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        with writing(output):
            pq.write_table(table, output)
        return [str(output)]
    ids_path = output.with_suffix(".ids.txt")
    with writing(output):
        np.save(output, vectors_of(table))
    with writing(ids_path):
        ids_path.write_text("\n".join(table.column("id").to_pylist()) + "\n")
    return [str(output), str(ids_path)]


def export_dataset(version: Any, folder: str | Path) -> list[str]:
    """Write ``version`` as a Hugging Face dataset in ``folder`` (``save_to_disk``): columns
    id, vector (float32, fixed length dim), and the items' text, label, uri and metadata
    (JSON text) where any item has one. ``folder`` must not exist yet."""
    import json

    try:
        import datasets
    except ImportError as exc:
        raise DependencyError(
            "--to-dataset needs datasets; pip install 'embver[datasets]'"
        ) from exc
    target = Path(folder)
    if target.exists():
        raise InvalidInputError(f"{str(target)!r} exists; give a new folder for the dataset")
    output_path(target)  # its parent must exist
    table = version.to_arrow()
    ids = table.column("id").to_pylist()
    items = version.store.items(version.space, ids=ids)
    columns: dict[str, Any] = {"id": ids, "vector": vectors_of(table)}
    vector = datasets.Sequence(datasets.Value("float32"), length=version.dim)
    features = {"id": datasets.Value("string"), "vector": vector}
    for name in ("text", "label", "uri", "metadata"):
        if name in items and not items[name].isna().all():
            values = items[name].tolist()
            if name == "metadata":
                values = [json.dumps(v, sort_keys=True) if v else None for v in values]
            columns[name] = [None if v is None or v != v else str(v) for v in values]
            features[name] = datasets.Value("string")
    dataset = datasets.Dataset.from_dict(columns, features=datasets.Features(features))
    dataset.save_to_disk(str(target))
    return [str(target)]
