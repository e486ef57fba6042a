"""``register(vectors, recipe=..., model=...)``: a model is kept only once it is checked.

Its fingerprints must equal the recipe's, and on up to 16 items whose texts are known
(given with the call or held by the space) it must reproduce the vectors within
cosine 1e-4. The store then keeps its files (or, with ``model_ref``, a pointer).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embver.errors import RecipeError
from embver.extract.kept import (
    REPRODUCE_SAMPLE,
    check_reproduces,
    model_files,
    recorded_extraction,
)
from embver.extract.sources import load_model
from embver.store import inputs
from embver.store.models import ModelFiles, resolve_reference
from embver.store.space import coerce_recipe

if TYPE_CHECKING:
    from embver.store import Space


@contextmanager
def checked_model_files(
    space: Space,
    vectors: Any,
    ids: Any,
    recipe: Any,
    texts: Sequence[str | None] | None,
    model: object,
    model_ref: str | None,
) -> Iterator[ModelFiles | None]:
    """The files keeping ``model`` (None without one), after checking it made ``vectors``;
    they stay readable until the ``with`` block ends."""
    if model is None and model_ref is None:
        yield None
        return
    checked = coerce_recipe(recipe)
    folder = resolve_reference(space.store, model_ref) if model_ref else None
    encoder = load_model(model if model is not None else folder)
    extraction = recorded_extraction(encoder, checked)
    sample_texts, sample_vectors = _sample(space, vectors, ids, texts)
    check_reproduces(encoder, extraction, sample_texts, sample_vectors)
    with tempfile.TemporaryDirectory(prefix="embver-model-") as scratch:
        files = model_files(encoder, Path(scratch))
        if folder is not None:
            files = ModelFiles(files.kind, folder, spec=files.spec, ref=model_ref)
        yield files


def _sample(
    space: Space, vectors: Any, ids: Any, texts: Sequence[str | None] | None
) -> tuple[list[str], np.ndarray]:
    """Up to 16 (text, vector) pairs: texts given with the call, else the space's."""
    frame_vectors, frame_ids = inputs.split_frame(vectors, ids)
    matrix = inputs.as_matrix(frame_vectors)
    id_list = inputs.as_ids(frame_ids, matrix.shape[0]).to_pylist()
    known = _known_texts(space, id_list, texts)
    rows = [i for i, item_id in enumerate(id_list) if known.get(item_id)][:REPRODUCE_SAMPLE]
    if not rows:
        raise RecipeError(
            "no texts are known for these items, so the model cannot be checked against "
            "the vectors: pass texts= with register, or register without model="
        )
    return [str(known[id_list[i]]) for i in rows], matrix[rows].astype(np.float32)


def _known_texts(
    space: Space, ids: list[str], texts: Sequence[str | None] | None
) -> dict[str, str | None]:
    if texts is not None:
        return dict(zip(ids, texts, strict=False))
    if not space.exists:
        return {}
    held = space.items(ids[: REPRODUCE_SAMPLE * 4])
    return {
        str(item_id): text if isinstance(text, str) else None
        for item_id, text in zip(held["id"], held["text"], strict=True)
    }
