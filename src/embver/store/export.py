"""Export a version's ids and vectors to files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from embver.errors import InvalidInputError


def export_version(version: Any, output: str | Path) -> list[str]:
    """Write ``version`` to ``output`` (.parquet with id/vector, or .npy + .ids.txt)."""
    output = Path(output)
    suffix = output.suffix.lower()
    table = version.to_arrow()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, output)
        return [str(output)]
    if suffix == ".npy":
        from embver.store.vectors import vectors_of

        np.save(output, vectors_of(table))
        ids_path = output.with_suffix(".ids.txt")
        ids_path.write_text("\n".join(table.column("id").to_pylist()) + "\n")
        return [str(output), str(ids_path)]
    raise InvalidInputError(f"export file {str(output)!r} must end in .parquet or .npy")
