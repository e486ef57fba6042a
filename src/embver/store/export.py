"""Export a version's ids and vectors to files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from embver.errors import InvalidInputError
from embver.store.files import output_path, writing


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
    from embver.store.vectors import vectors_of

    ids_path = output.with_suffix(".ids.txt")
    with writing(output):
        np.save(output, vectors_of(table))
    with writing(ids_path):
        ids_path.write_text("\n".join(table.column("id").to_pylist()) + "\n")
    return [str(output), str(ids_path)]
