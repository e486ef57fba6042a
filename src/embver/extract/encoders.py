"""The one-class contract every model source implements, and the recipe it yields.

An :class:`Encoder` knows its architecture spec and weights fingerprint, resolves
a user's :class:`~embver.extract.spec.Extraction` against its own defaults, turns
raw items into :class:`Prepared` inputs (with a per-item cost used to sort
batches), and encodes a batch of prepared items into float32 vectors.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embver.core.recipe import Context, Recipe, fingerprint
from embver.errors import InvalidInputError
from embver.extract.spec import Extraction


@dataclass
class Prepared:
    """Items made ready for a model.

    ``payload`` is encoder-specific (token id lists, file paths); ``cost`` is an
    array of shape (n,) used to group items of similar cost into one batch.
    """

    payload: Any
    cost: np.ndarray

    def __len__(self) -> int:
        return len(self.cost)


class Encoder(abc.ABC):
    """A model that turns items into vectors, with a truthful recipe."""

    #: what an item is: "text" or "image" (or "tensor")
    modality: str = "text"
    #: a human description of where the model came from (recorded as context only)
    source: str = ""
    #: the local folder the model was loaded from, and its weights fingerprint then: a
    #: version keeps the folder's files only while the weights are still those
    folder: Path | None = None
    folder_weights: str | None = None

    def unchanged_folder(self) -> Path | None:
        """The folder the model was loaded from, unless its weights changed since (trained
        in place); None for a model that came from no folder."""
        if self.folder is None or self.folder_weights != self.weights_fingerprint():
            return None
        return self.folder

    @abc.abstractmethod
    def architecture_spec(self) -> dict[str, Any]:
        """Structural description of the model and its input space."""

    @abc.abstractmethod
    def default_extraction(self) -> Extraction:
        """The model's own extraction (e.g. from a sentence-transformers config)."""

    @abc.abstractmethod
    def resolve(self, extraction: Extraction | None) -> Extraction:
        """``extraction`` with every field concrete and canonical for this model."""

    @abc.abstractmethod
    def output_dim(self, extraction: Extraction) -> int | None:
        """The vector dimension under ``extraction``, when known without running."""

    @abc.abstractmethod
    def prepare(self, items: Sequence[Any], extraction: Extraction) -> Prepared:
        """Make raw items (texts, image paths) ready for :meth:`encode`."""

    @abc.abstractmethod
    def encode(
        self, prepared: Prepared, positions: np.ndarray, extraction: Extraction
    ) -> np.ndarray:
        """Vectors of shape (len(positions), dim), float32, for the items at ``positions``."""

    @abc.abstractmethod
    def _weights_digest(self) -> str: ...

    def weights_fingerprint(self) -> str:
        """Content hash of the parameters, computed afresh (a model may be trained in place)."""
        return self._weights_digest()

    def weights_spec(self) -> dict[str, Any]:
        return {"digest": self.weights_fingerprint()}

    def fingerprints(self, extraction: Extraction) -> dict[str, str]:
        """The three fingerprints of this model under a resolved ``extraction``."""
        return {
            "architecture": fingerprint(self.architecture_spec(), "arch"),
            "extraction": fingerprint(extraction.to_spec(), "extr"),
            "weights": self.weights_fingerprint(),
        }

    def recipe(
        self,
        extraction: Extraction | None = None,
        *,
        dim: int | None = None,
        metric: str = "cosine",
        context: Context | None = None,
    ) -> Recipe:
        """The :class:`~embver.core.recipe.Recipe` of vectors made with ``extraction``.

        ``specs`` carries the structured architecture and extraction so that a diff
        between two recipes says what changed, not only that a hash did.
        """
        resolved = self.resolve(extraction)
        dim = dim if dim is not None else self.output_dim(resolved)
        if dim is None:
            raise InvalidInputError(
                f"the output dimension of {self.source or type(self).__name__} is known only "
                "after encoding; pass dim=N (the width of its vectors) to recipe()"
            )
        return Recipe(
            **self.fingerprints(resolved),
            dim=dim,
            dtype="float32",
            metric=metric,
            specs={
                "architecture": self.architecture_spec(),
                "extraction": resolved.to_spec(),
                "weights": self.weights_spec(),
            },
            context=context or Context(notes=f"model: {self.source}" if self.source else None),
        )
