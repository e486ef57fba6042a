"""The models a server holds in memory: one instance per kept model, least recently used out.

Versions that keep the same model (the same digest: say ten extraction methods over one
MiniLM) share one loaded instance; each version's :class:`VersionEncoder` is only its
recorded extraction over that instance. Past ``max_models`` models the least recently
used is dropped with every encoder built on it, so its memory can be freed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING

from embver.errors import InvalidInputError
from embver.extract.kept import VersionEncoder

if TYPE_CHECKING:
    from embver.extract.encoders import Encoder
    from embver.store import Version


class LoadedModels(MutableMapping[str, "Encoder"]):
    """Loaded models by digest, in least-recently-used order (the oldest first)."""

    def __init__(self) -> None:
        self._models: OrderedDict[str, Encoder] = OrderedDict()

    def __getitem__(self, digest: str) -> Encoder:
        encoder = self._models[digest]
        self._models.move_to_end(digest)
        return encoder

    def __setitem__(self, digest: str, encoder: Encoder) -> None:
        self._models[digest] = encoder
        self._models.move_to_end(digest)

    def __delitem__(self, digest: str) -> None:
        del self._models[digest]

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)


class ModelPool:
    """Encoders for versions, over at most ``max_models`` loaded models.

    Parameters
    ----------
    max_models
        How many distinct kept models stay loaded (≥ 1).
    """

    def __init__(self, max_models: int = 4) -> None:
        if max_models < 1:
            raise InvalidInputError(f"max_models={max_models} must be at least 1")
        self.max_models = max_models
        self.models = LoadedModels()
        self._encoders: dict[int, VersionEncoder] = {}
        self._lock = threading.Lock()

    def encoder(self, version: Version) -> VersionEncoder:
        """``version``'s encoder, loading its model (and dropping the oldest) if needed."""
        with self._lock:
            encoder = self._encoders.get(version.id)
            if encoder is not None and version.model_digest in self.models:
                self.models[str(version.model_digest)]  # marks it recently used
                return encoder
            encoder = VersionEncoder(version, self.models)
            self._encoders[version.id] = encoder
            self._evict()
            return encoder

    def loaded_encoder(self, version: Version) -> VersionEncoder | None:
        """``version``'s encoder when its model is loaded now, else None (never loads)."""
        with self._lock:
            encoder = self._encoders.get(version.id)
            if encoder is None or version.model_digest not in self.models:
                return None
            self.models[str(version.model_digest)]  # marks it recently used
            return encoder

    def _evict(self) -> None:
        while len(self.models) > self.max_models:
            oldest = next(iter(self.models))
            del self.models[oldest]
            for version_id in [
                i for i, e in self._encoders.items() if e.version.model_digest == oldest
            ]:
                del self._encoders[version_id]

    def loaded(self) -> list[str]:
        """Digests of the loaded models, the least recently used first."""
        with self._lock:
            return list(self.models)
