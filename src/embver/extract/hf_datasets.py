"""Reading a Hugging Face ``datasets`` dataset to embed: saved to disk or in the local cache.

Nothing is downloaded (``HF_DATASETS_OFFLINE=1`` is set before ``datasets`` loads). Only
the id, text and label columns are read, in Arrow batches, so a dataset with wide
columns (images, other embeddings) is never materialised whole.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embver.errors import DependencyError, InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

#: rows read per Arrow batch
BATCH_ROWS = 10_000
_TEXT_COLUMNS = ("text", "texts", "sentence", "document", "content")


def read_dataset(
    source: str | os.PathLike[str],
    *,
    split: str | None = None,
    text_col: str | None = None,
    label_col: str | None = None,
    id_col: str | None = None,
) -> pd.DataFrame:
    """The id, text and label columns of ``source``'s ``split`` as a DataFrame (columns named
    as in the dataset; a ClassLabel column gives its names, not its integers)."""
    dataset = _one_split(_load(source), split, source)
    columns = list(dataset.column_names)
    text = _pick(columns, text_col, _TEXT_COLUMNS, "text_col", source)
    chosen = [text] + [
        _pick(columns, given, (default,), name, source, required=given is not None)
        for given, default, name in ((id_col, "id", "id_col"), (label_col, "label", "label_col"))
    ]
    wanted = list(dict.fromkeys(c for c in chosen if c))
    return _read_columns(dataset.select_columns(wanted), wanted)


def _load(source: str | os.PathLike[str]) -> Any:
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    try:
        import datasets
    except ImportError as exc:
        raise DependencyError(
            "reading a dataset needs datasets; pip install 'embver[datasets]'"
        ) from exc
    path = Path(source)
    if path.exists():
        try:
            return datasets.load_from_disk(str(path))
        except (FileNotFoundError, ValueError) as exc:
            raise InvalidInputError(
                f"{str(path)!r} is not a dataset saved with save_to_disk: {exc}"
            ) from exc
    try:
        return datasets.load_dataset(str(source))
    except Exception as exc:  # datasets raises several kinds for "not available offline"
        raise InvalidInputError(
            f"dataset {str(source)!r} is neither a folder nor in the local Hugging Face cache "
            f"(nothing is downloaded): {type(exc).__name__}; save it with "
            "Dataset.save_to_disk(PATH) and give PATH"
        ) from exc


def _one_split(loaded: Any, split: str | None, source: object) -> Any:
    """The split asked for from a DatasetDict (default: 'train', or the only one)."""
    if not hasattr(loaded, "keys"):
        if split is not None and getattr(loaded, "split", None) not in (None, split):
            raise InvalidInputError(
                f"dataset {str(source)!r} holds split {loaded.split}, not {split!r}"
            )
        return loaded
    splits = list(loaded.keys())
    chosen = split or ("train" if "train" in splits else splits[0] if len(splits) == 1 else None)
    if chosen not in splits:
        raise InvalidInputError(
            f"dataset {str(source)!r} has splits {splits}; choose one with --split (split=)"
        )
    return loaded[chosen]


def _pick(
    columns: list[str],
    given: str | None,
    defaults: tuple[str, ...],
    option: str,
    source: object,
    *,
    required: bool = True,
) -> str | None:
    """``given`` if it is a column, else the first default present; a column that was
    named but is missing, or a required one found nowhere, is refused."""
    if given is None:
        found = next((c for c in defaults if c in columns), None)
        if found is not None or not required:
            return found
    elif given in columns:
        return given
    raise InvalidInputError(
        f"dataset {str(source)!r} has no column {given or ' / '.join(defaults)!r} (columns: "
        f"{columns}); name it with --{option.replace('_', '-')}"
    )


def _read_columns(dataset: Any, columns: list[str]) -> pd.DataFrame:
    """The columns, read batch by batch; ClassLabel integers turned into their names."""
    import pandas as pd

    values: dict[str, list[Any]] = {c: [] for c in columns}
    for batch in dataset.iter(batch_size=BATCH_ROWS):
        for column in columns:
            values[column].extend(batch[column])
    for column in columns:
        feature = dataset.features[column]
        if hasattr(feature, "int2str"):
            values[column] = [None if v is None or v < 0 else feature.int2str(v)
                              for v in values[column]]  # fmt: skip
    return pd.DataFrame(values)
