"""Reading a Hugging Face ``datasets`` dataset to embed: saved to disk or in the local cache.

Nothing is downloaded (``HF_DATASETS_OFFLINE=1`` is set before ``datasets`` loads). Only
the id, text and label columns are read, a range of rows at a time
(:meth:`DatasetReader.frames`), so a dataset with wide columns (images, other
embeddings), or one larger than memory, is never materialised whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embver.errors import DependencyError, InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

#: rows read per Arrow batch
BATCH_ROWS = 10_000
_TEXT_COLUMNS = ("text", "texts", "sentence", "document", "content")


class DatasetReader:
    """The id, text and label columns of one split, read a range of rows at a time.

    ``text_col``, ``id_col``, ``label_col``: the columns chosen (``id_col`` and
    ``label_col`` None when the dataset has none).
    """

    def __init__(self, dataset: Any, text_col: str, id_col: str | None, label_col: str | None):
        self.text_col, self.id_col, self.label_col = text_col, id_col, label_col
        self._columns = list(dict.fromkeys(c for c in (text_col, id_col, label_col) if c))
        self._dataset = dataset.select_columns(self._columns)

    @property
    def num_rows(self) -> int:
        return int(self._dataset.num_rows)

    def frames(self, rows: int, start: int = 0) -> Iterator[tuple[int, pd.DataFrame]]:
        """``(first row, frame)`` for each run of ``rows`` rows from row ``start`` on: the
        chosen columns, ClassLabel integers as their names; without an id column, an
        ``id`` column of row numbers ("0", "1", ... over the whole split)."""
        for first in range(start, self.num_rows, rows):
            yield first, self.frame(first, min(first + rows, self.num_rows))

    def frame(self, first: int, stop: int) -> pd.DataFrame:
        """Rows ``first`` to ``stop - 1`` (see :meth:`frames`)."""
        import pandas as pd

        values = self._dataset[first:stop]
        for column in self._columns:
            feature = self._dataset.features[column]
            if hasattr(feature, "int2str"):
                values[column] = [None if v is None or v < 0 else feature.int2str(v)
                                  for v in values[column]]  # fmt: skip
        frame = pd.DataFrame({column: values[column] for column in self._columns})
        if self.id_col is None:
            frame["id"] = [str(row) for row in range(first, stop)]
        return frame


def open_dataset(
    source: str | os.PathLike[str],
    *,
    split: str | None = None,
    text_col: str | None = None,
    label_col: str | None = None,
    id_col: str | None = None,
) -> DatasetReader:
    """``source``'s ``split``, its text, id and label columns chosen (a column named but
    missing, or no text column, is refused in one line naming the option)."""
    dataset = _one_split(_load(source), split, source)
    columns = list(dataset.column_names)
    text = _pick(columns, text_col, _TEXT_COLUMNS, "text_col", source)
    assert text is not None  # _pick refuses a required column it cannot find
    ids, labels = (
        _pick(columns, given, (default,), name, source, required=given is not None)
        for given, default, name in ((id_col, "id", "id_col"), (label_col, "label", "label_col"))
    )
    return DatasetReader(dataset, text, ids, labels)


def read_dataset(
    source: str | os.PathLike[str],
    *,
    split: str | None = None,
    text_col: str | None = None,
    label_col: str | None = None,
    id_col: str | None = None,
) -> pd.DataFrame:
    """The id, text and label columns of ``source``'s ``split`` as one DataFrame (columns
    named as in the dataset, plus ``id`` row numbers when it has no id column; a
    ClassLabel column gives its names, not its integers)."""
    import pandas as pd

    reader = open_dataset(
        source, split=split, text_col=text_col, label_col=label_col, id_col=id_col
    )
    frames = [frame for _, frame in reader.frames(BATCH_ROWS)]
    if not frames:
        return reader.frame(0, 0)
    return pd.concat(frames, ignore_index=True)


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
