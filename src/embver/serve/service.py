"""The embedding service behind ``embver serve``, free of HTTP: resolve, batch, encode, map.

:class:`EmbeddingService` answers one checked :class:`EmbeddingRequest` at a time
(concurrently: requests for the same version meet in its :class:`Batcher`), and lists
what the store can serve. The FastAPI app in :mod:`embver.serve.app` only reads and
writes bodies around it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from starlette.concurrency import run_in_threadpool

from embver.errors import InvalidInputError, NotFoundError
from embver.extract.kept import VersionEncoder
from embver.serve.batching import Batcher
from embver.serve.pool import ModelPool
from embver.serve.requests import EmbeddingRequest, Limits, check_dimensions, encoded
from embver.serve.resolve import TargetMap, resolve_version, target_map

if TYPE_CHECKING:
    from embver.store import Store, Version

#: ids one ``/v1/vectors`` request may ask for
MAX_IDS = 10_000
#: unknown ids named in a 404
SHOWN_MISSING = 5
#: resolved (model, target) references kept while the catalog does not change
MAX_RESOLVED = 1024


@dataclass(frozen=True)
class ServeConfig:
    """How the service batches and bounds its work.

    Parameters
    ----------
    max_batch
        Inputs per encode call gathered from concurrent requests.
    batch_size
        Inputs per forward pass: an encode call runs its inputs sorted by length in passes
        of this size (on 2 CPU cores MiniLM on news texts ran fastest at 16; 64 at once
        took twice as long per text).
    max_wait
        Seconds a batch waits for more requests before it encodes.
    max_models
        Kept models held in memory at once (least recently used dropped).
    limits
        Inputs per request and characters per input.
    """

    max_batch: int = 64
    max_wait: float = 0.002
    batch_size: int = 16
    max_models: int = 4
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class _Plan:
    """What a request resolved to, before encoding."""

    encoder: VersionEncoder
    mapping: TargetMap | None


@dataclass(frozen=True)
class _Resolved:
    """What a (model, target) pair resolved to, at the catalog's change number ``changes``."""

    changes: int
    version: Version
    mapping: TargetMap | None


class EmbeddingService:
    """Embeddings of new inputs by version reference, from ``store``'s kept models."""

    def __init__(self, store: Store, config: ServeConfig | None = None) -> None:
        self.store = store
        self.config = config or ServeConfig()
        self.pool = ModelPool(self.config.max_models)
        self.batcher = Batcher(self._encode_batch, self.config.max_batch, self.config.max_wait)
        self._resolved: dict[tuple[str, str | None], _Resolved] = {}

    async def embeddings(self, request: EmbeddingRequest) -> dict[str, Any]:
        """The OpenAI-shaped answer to ``request``: one embedding per input, in order."""
        plan = self._known_plan(request)
        if plan is None:
            plan = await run_in_threadpool(self._plan, request)
        vectors, tokens = await self.batcher.encode(plan.encoder, request.inputs)
        version = plan.encoder.version
        if plan.mapping is not None:
            vectors = plan.mapping.apply(vectors)
        data = [
            {"object": "embedding", "index": i, "embedding": encoded(v, request.encoding_format)}
            for i, v in enumerate(vectors)
        ]
        used = int(tokens.sum())
        answer = {
            "object": "list",
            "data": data,
            "model": version.ref,
            "usage": {"prompt_tokens": used, "total_tokens": used},
        }
        if plan.mapping is not None:
            answer["target"] = {"model": plan.mapping.target, "via": plan.mapping.how}
        return answer

    def _known_plan(self, request: EmbeddingRequest) -> _Plan | None:
        """The plan of an earlier request naming the same references, when nothing was
        committed to the catalog since it resolved them and its model is still loaded
        (answered on the event loop, no thread hop or catalog query); None otherwise."""
        known = self._resolved.get((request.model, request.target))
        if known is None or known.changes != self.store.catalog_changes():
            return None
        encoder = self.pool.loaded_encoder(known.version)
        if encoder is None:
            return None
        self._check_dimensions(request, known.version, known.mapping)
        return _Plan(encoder, known.mapping)

    def _plan(self, request: EmbeddingRequest) -> _Plan:
        """Resolve the references now (an alias moved a moment ago counts) and load the model."""
        changes = self.store.catalog_changes()  # read first: a change while resolving counts
        version = resolve_version(self.store, request.model)
        mapping = None
        if request.target is not None:
            target = resolve_version(self.store, request.target, field="target")
            mapping = target_map(self.store, version, target)
        self._check_dimensions(request, version, mapping)
        plan = _Plan(self._encoder(version), mapping)
        if changes is not None:
            if len(self._resolved) >= MAX_RESOLVED:
                self._resolved.clear()
            self._resolved[(request.model, request.target)] = _Resolved(changes, version, mapping)
        return plan

    @staticmethod
    def _check_dimensions(
        request: EmbeddingRequest, version: Version, mapping: TargetMap | None
    ) -> None:
        if mapping is None:
            check_dimensions(request, version.ref, version.dim)
        else:
            check_dimensions(request, mapping.target, _dim_out(mapping, version))

    def _encoder(self, version: Version) -> VersionEncoder:
        encoder = self.pool.encoder(version)
        if encoder.modality != "text":
            raise InvalidInputError(
                f"model {version.ref!r} encodes {encoder.modality} inputs; embver serve "
                "encodes text only (use `embver encode` for images)"
            )
        return encoder

    # -- what the store holds --------------------------------------------------------------

    def models(self) -> dict[str, Any]:
        """Every version and alias of every space, in OpenAI's model-list shape."""
        data: list[dict[str, Any]] = []
        spaces: dict[str, Any] = {}
        for space in self.store.space_names():
            versions = self.store.versions(space)
            aliases = self.store.aliases(space)
            data.extend(model_entry(v) for v in versions)
            data.extend(alias_entry(space, a, n) for a, n in sorted(aliases.items()))
            spaces[space] = {
                "versions": [str(v.number) for v in versions],
                "aliases": aliases,
                "latest": str(versions[-1].number) if versions else None,
            }
        return {"object": "list", "data": data, "spaces": spaces}

    def model(self, reference: str) -> dict[str, Any]:
        """The entry of the version ``reference`` names now."""
        return model_entry(resolve_version(self.store, reference))

    def vectors(self, reference: str, ids: list[str]) -> tuple[Version, np.ndarray]:
        """The version ``reference`` names and its stored vectors (len(ids), dim) for ``ids``."""
        version = resolve_version(self.store, reference, field="reference")
        if not ids:
            raise InvalidInputError("query 'ids' is empty: pass ids=a,b,c")
        if len(ids) > MAX_IDS:
            raise InvalidInputError(f"query 'ids' names {len(ids)} ids; at most {MAX_IDS}")
        held = set(version.ids)
        missing = [i for i in dict.fromkeys(ids) if i not in held]
        if missing:
            raise NotFoundError(
                f"{len(missing)} id(s) are not in {version.ref}: "
                f"{', '.join(map(repr, missing[:SHOWN_MISSING]))}"
                + (", …" if len(missing) > SHOWN_MISSING else "")
            )
        return version, version.vectors(ids)

    def _encode_batch(self, key: Hashable, inputs: list[str]) -> tuple[np.ndarray, ...]:
        """One gathered batch: vectors (n, dim) and token counts (n,), on the encode thread."""
        assert isinstance(key, VersionEncoder)
        return key.encode_counted(inputs, batch_size=self.config.batch_size)

    def close(self) -> None:
        self.batcher.close()


def _dim_out(mapping: TargetMap, version: Version) -> int:
    return mapping.adapter.map.dim_out if mapping.adapter is not None else version.dim


def model_entry(version: Version) -> dict[str, Any]:
    """One version as an OpenAI model object plus embver's fields."""
    verdict = version.verdict
    parent = version.parent
    return {
        "id": version.ref,
        "object": "model",
        "created": int(version.created_at.timestamp()),
        "owned_by": "embver",
        "space": version.space,
        "version": str(version.number),
        "dim": version.dim,
        "metric": version.metric,
        "count": version.count,
        "aliases": version.aliases,
        "parent": parent.ref if parent is not None else None,
        "verdict": verdict["label"] if verdict else None,
        "model_kept": version.model_digest is not None,
    }


def alias_entry(space: str, alias: str, number: str) -> dict[str, Any]:
    """An alias as a model object: what it resolves to now."""
    return {
        "id": f"{space}@{alias}",
        "object": "model",
        "created": 0,
        "owned_by": "embver",
        "space": space,
        "alias": alias,
        "version": number,
        "resolves_to": f"{space}@{number}",
    }
