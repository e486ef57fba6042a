"""Reading a file of items to embed: tables (.csv, .tsv, .jsonl, .json, .parquet) or
plain text (.txt, one text a line)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from embver.errors import InvalidInputError


def read_input_file(path: str | os.PathLike[str]) -> Any:
    """A pandas DataFrame from .csv, .tsv, .jsonl, .json, .parquet, or .txt (one text a line)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"input file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if suffix == ".tsv":
            return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        if suffix == ".jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        if suffix == ".json":
            return pd.read_json(path, dtype=False)
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix == ".txt":
            lines = path.read_text(encoding="utf-8").splitlines()
            return pd.DataFrame({"text": [line for line in lines if line.strip()]})
    except (ValueError, OSError) as error:
        raise InvalidInputError(f"input file {str(path)!r} could not be read: {error}") from error
    raise InvalidInputError(
        f"input file {str(path)!r} has suffix {suffix!r}; use .csv, .tsv, .jsonl, .json, "
        ".parquet or .txt"
    )
