"""The facade users hold: the store's persistence plus the science composed on top.

``embver.init``/``embver.open`` return this module's :class:`Store`. Its methods
compose the layers below: :mod:`embver.store` keeps (catalog, vectors, items,
artifacts) and knows no science; :mod:`embver.compare`, :mod:`embver.project`,
:mod:`embver.composite` and :mod:`embver.extract` measure and build. This is the one
module that imports "upward" from the store; each import happens inside the method
that needs it, so ``import embver`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from embver.core import Bump, Recipe, Ref
from embver.errors import InvalidInputError
from embver.store import inputs
from embver.store import store as persistence
from embver.store.space import Space as StoredSpace
from embver.store.version import Version as StoredVersion

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from embver.compare.api import Adapter
    from embver.compare.comparison import Comparison
    from embver.composite.combiners import Combiner
    from embver.composite.definition import ComponentLike
    from embver.composite.impact import Impact
    from embver.evaluate.results import Evaluation, PairedDifference
    from embver.extract.api import EmbedData, EmbedOptions
    from embver.extract.kept import VersionEncoder
    from embver.extract.stream import DatasetOptions
    from embver.project.api import ItemSelection
    from embver.project.drift import DriftReport
    from embver.project.layout import LayoutParams
    from embver.project.projection import Projection
    from embver.store.models import ModelFiles


def init(
    path: str | os.PathLike[str] = ".", catalog: str | None = None, data: str | None = None
) -> Store:
    """Create a store in ``path/.embver/`` (SQLite + local Lance unless URLs are given)."""
    return persistence.init(path, catalog, data, store_class=Store)


def open(path: str | os.PathLike[str] | None = None) -> Store:
    """Open the store at ``path``, ``$EMBVER_STORE``, or the nearest ``.embver/`` upward."""
    return persistence.open(path, store_class=Store)


class Version(StoredVersion):
    """A version of the facade's store: its vectors plus the model that made them."""

    def encoder(self) -> VersionEncoder:
        """An encoder applying this version's kept model and recorded extraction:
        ``.encode(inputs)`` gives float32 vectors of shape (n, dim). The model loads once
        per process; InvalidInputError when the version keeps none."""
        from embver.extract.kept import VersionEncoder

        return VersionEncoder(self)


class Space(StoredSpace):
    """A space of the facade's store: registration plus embedding with a model."""

    def embed(
        self, data: EmbedData, *, model: object = None, **options: Unpack[EmbedOptions]
    ) -> Version:
        """Embed ``data`` with ``model`` (a path, an installed model package's name or a model
        object) and register it, keeping the model; with ``version=REF`` append to that
        version with the model it keeps. Options as for :func:`embver.extract.api.embed`."""
        from embver.extract.api import embed

        return _facade_version(embed(self, data, model=model, **options))

    def embed_dataset(
        self,
        source: str | os.PathLike[str],
        *,
        model: object = None,
        split: str | None = None,
        text_col: str | None = None,
        id_col: str | None = None,
        label_col: str | None = None,
        **options: Unpack[DatasetOptions],
    ) -> Version:
        """Embed a Hugging Face dataset (a ``save_to_disk`` folder or one in the local
        cache; nothing is downloaded) ``chunk_rows`` rows at a time, so that its size is
        not bounded by memory; the version is the one :meth:`embed` makes from the whole
        dataset. Options as for :func:`embver.extract.stream.embed_dataset`."""
        from embver.extract.hf_datasets import open_dataset
        from embver.extract.stream import embed_dataset

        reader = open_dataset(
            source, split=split, text_col=text_col, id_col=id_col, label_col=label_col
        )
        return _facade_version(embed_dataset(self, reader, model=model, **options))

    def register(
        self,
        vectors: inputs.VectorInput,
        ids: inputs.IdsInput = None,
        recipe: Recipe | Mapping[str, object] | None = None,
        *,
        parent: str | StoredVersion | None = None,
        bump: Bump | str | None = None,
        texts: Sequence[str | None] | None = None,
        labels: Sequence[object] | None = None,
        uris: Sequence[str | None] | None = None,
        metadata: inputs.MetadataInput = None,
        author: str | None = None,
        edges: Sequence[tuple[int, str, Mapping[str, object]]] = (),
        model_files: ModelFiles | None = None,
        model: object = None,
        model_ref: str | None = None,
        mlflow_run: str | None = None,
    ) -> Version:
        """Register ``vectors`` (n, dim) for ``ids`` under ``recipe`` (see the store's
        :meth:`embver.store.Space.register`).

        ``model`` (a folder, package name or model object) is kept with the version once its
        fingerprints equal the recipe's and it reproduces up to 16 of the vectors whose texts
        are known within cosine 1e-4; ``model_ref`` keeps only a pointer to it and its digest.

        ``mlflow_run`` (a run id) is recorded in the recipe's context (``runs``) and the
        version is logged to that run (:func:`embver.integrations.mlflow.log_version`).
        """
        from embver.extract.register import checked_model_files

        if mlflow_run is not None:
            recipe = _with_run(recipe, "mlflow", mlflow_run)

        with checked_model_files(self, vectors, ids, recipe, texts, model, model_ref) as checked:
            version = super().register(
                vectors, ids, recipe, parent=parent, bump=bump, texts=texts, labels=labels,
                uris=uris, metadata=metadata, author=author, edges=edges,
                model_files=checked or model_files,
            )  # fmt: skip
        if mlflow_run is not None:
            from embver.integrations.mlflow import log_version

            log_version(version, run_id=mlflow_run)
        return _facade_version(version)


def _with_run(recipe: Recipe | Mapping[str, object] | None, tracker: str, run: str) -> Recipe:
    """``recipe`` with ``run`` recorded as ``tracker``'s in its context."""
    import dataclasses

    from embver.store.space import coerce_recipe

    if not isinstance(run, str) or not run.strip():
        raise InvalidInputError(f"{tracker}_run={run!r} must be a run id (a non-empty string)")
    given = coerce_recipe(recipe)
    runs = {**given.context.runs, tracker: run}
    return dataclasses.replace(given, context=dataclasses.replace(given.context, runs=runs))


def _facade_version(version: StoredVersion) -> Version:
    assert isinstance(version, Version)
    return version


class Store(persistence.Store):
    """Everything embver keeps, with comparison, projection, composites and verdicts."""

    space_class = Space
    version_class = Version

    def space(self, name: str, create: bool = True, kind: str = "plain") -> Space:
        """The space ``name`` (created by its first accepted version unless ``create=False``)."""
        space = super().space(name, create=create, kind=kind)
        assert isinstance(space, Space)
        return space

    def get(self, ref: str | Ref) -> Version:
        """The version a reference names: ``space@1.2.3``, ``@alias``, ``@latest``, ``@1.2``."""
        return _facade_version(super().get(ref))

    def versions(self, space: str) -> list[Version]:  # type: ignore[override]
        """All versions of ``space``, ordered by number (the facade's, with ``encoder``;
        a list is invariant, hence the override's ignore)."""
        return [_facade_version(v) for v in super().versions(space)]

    def judge_patch(
        self, old: np.ndarray, new: np.ndarray, metric: str, *, space: str, ids: Sequence[str]
    ) -> dict[str, object]:
        """The measured verdict on a PATCH (see :func:`embver.compare.verdict.patch_verdict`)
        and, when ``eval.default`` names a task, the parent's and child's figures on it."""
        from embver.compare.verdict import patch_verdict

        verdict: dict[str, object] = patch_verdict(old, new, metric, seed=0).to_dict()
        task = self.setting("eval.default")
        if task:
            from embver.evaluate.api import patch_task

            verdict["task"] = patch_task(self, old, new, space=space, ids=ids, task=str(task))
        return verdict

    def on_registered(self, version: StoredVersion) -> None:
        """Record the ``eval.default`` task's figures of a new PATCH and of its parent, so
        ``embver log`` shows them and ``alias set --by`` can choose between them."""
        task = self.setting("eval.default")
        if not task or version.bump.name != "PATCH" or version.parent is None:
            return
        if not isinstance(version.verdict, dict) or "difference" not in dict(
            version.verdict.get("task") or {}
        ):
            return  # not measured at registration (too few labelled shared items)
        from embver.evaluate.api import evaluate

        for measured in (version.parent, version):
            evaluate(self, measured, str(task))

    # -- comparison (embver.compare) -------------------------------------------------
    def compare(
        self,
        a: str | Version,
        b: str | Version,
        k: int | Sequence[int] = (10, 50),
        sample: int | None = None,
        seed: int = 0,
        *,
        clusters: bool = True,
        migration: bool = True,
        map_kinds: tuple[str, ...] = ("procrustes", "ridge", "mlp"),
        progress: Callable[[str], None] | None = None,
    ) -> Comparison:
        """Compare version ``a`` with ``b`` over their shared items; see :mod:`embver.compare`."""
        from embver.evaluate.api import compare_with_labels

        return compare_with_labels(
            self, a, b, k=k, sample=sample, seed=seed, clusters=clusters, migration=migration,
            map_kinds=map_kinds, progress=progress,
        )  # fmt: skip

    def adapter(self, a: str | Version, b: str | Version) -> Adapter:
        """The stored migration map from ``a`` to ``b`` (``.transform(X)``); see ``adapter fit``."""
        from embver.compare.api import adapter

        return adapter(self, a, b)

    # -- task evaluation (embver.evaluate) ------------------------------------------
    def evaluate(
        self,
        ref: str | StoredVersion,
        task: str = "knn-accuracy",
        *,
        qrels: str | os.PathLike[str] | Mapping[str, Mapping[str, int]] | None = None,
        pairs: str | os.PathLike[str] | Sequence[tuple[str, str, float]] | None = None,
        queries: str | os.PathLike[str] | StoredVersion | None = None,
        seed: int = 0,
        refresh: bool = False,
        k: int | None = None,
        folds: int | None = None,
    ) -> Evaluation:
        """How good version ``ref`` is at ``task``, with intervals and chance levels; recorded
        against the version and read back when asked again (see :mod:`embver.evaluate`)."""
        from embver.evaluate.api import evaluate

        params = {name: value for name, value in (("k", k), ("folds", folds)) if value is not None}
        version = self.get(ref) if isinstance(ref, str) else _facade_version(ref)
        given = self._query_vectors(version, queries) if queries is not None else None
        return evaluate(
            self, version, task, qrels=qrels, pairs=pairs, queries=given, seed=seed,
            refresh=refresh, **params,
        )  # fmt: skip

    def _query_vectors(
        self, version: Version, queries: str | os.PathLike[str] | StoredVersion
    ) -> str | StoredVersion | tuple[np.ndarray, list[str]]:
        """A version of query vectors as given, or a file of query texts (``id``, ``text``
        columns; .txt: one a line, ids q0, q1, …) encoded with ``version``'s kept model."""
        if isinstance(queries, StoredVersion) or (isinstance(queries, str) and "@" in queries):
            return queries
        from embver.extract.inputs import read_input_file

        frame = read_input_file(queries)
        if "text" not in frame.columns:
            raise InvalidInputError(
                f"query file {os.fspath(queries)!r} has no 'text' column; give id and text "
                "columns (or a .txt file, one query a line)"
            )
        ids = (
            [str(i) for i in frame["id"]]
            if "id" in frame.columns
            else [f"q{i}" for i in range(len(frame))]
        )
        return version.encoder().encode(list(frame["text"])), ids

    def evaluations(self, ref: str | StoredVersion) -> list[Evaluation]:
        """Every evaluation recorded for version ``ref``, oldest first."""
        from embver.evaluate.api import evaluations

        return evaluations(self, ref)

    def compare_tasks(
        self,
        a: str | StoredVersion,
        b: str | StoredVersion,
        task: str = "knn-accuracy",
        *,
        qrels: str | os.PathLike[str] | Mapping[str, Mapping[str, int]] | None = None,
        pairs: str | os.PathLike[str] | Sequence[tuple[str, str, float]] | None = None,
        queries: str | os.PathLike[str] | StoredVersion | None = None,
        seed: int = 0,
        k: int | None = None,
        folds: int | None = None,
    ) -> list[PairedDifference]:
        """B − A on each figure of ``task`` (each side evaluated, or read back, with the same
        options), paired over the items or queries both hold, with 95 % intervals."""
        from embver.evaluate.api import pair_figures

        first, second = (
            self.evaluate(
                ref, task, qrels=qrels, pairs=pairs, queries=queries, seed=seed, k=k, folds=folds
            )
            for ref in (a, b)
        )
        return pair_figures(first, second)

    # -- projections and drift (embver.project) ------------------------------------
    def project(
        self,
        ref: str | Version,
        method: str = "umap",
        dims: int = 2,
        seed: int = 0,
        align_to: str | Version | None = None,
        *,
        progress: Callable[[str], None] | None = None,
        **params: Unpack[LayoutParams],
    ) -> Projection:
        """Cached, seeded 2-D/3-D projection of a version; see :mod:`embver.project.api`."""
        from embver.project.api import project

        return project(
            self, ref, method=method, dims=dims, seed=seed, align_to=align_to,
            progress=progress, **params,
        )  # fmt: skip

    def drift(
        self,
        ref: str | Version,
        reference: ItemSelection,
        current: ItemSelection,
        seed: int = 0,
        sample: int = 500,
        permutations: int = 200,
    ) -> DriftReport:
        """Drift of ``current`` against ``reference`` items of one version (embver.project)."""
        from embver.project.api import drift

        return drift(
            self, ref, reference=reference, current=current, seed=seed, sample=sample,
            permutations=permutations,
        )  # fmt: skip

    # -- composites (embver.composite) ---------------------------------------------
    def composite(
        self,
        name: str,
        components: Sequence[ComponentLike],
        combiner: Combiner | str | Mapping[str, object] = "concat",
        *,
        missing: str = "drop",
        metric: str = "cosine",
        author: str | None = None,
    ) -> Version:
        """Define the composite ``name`` from pinned components and build its version."""
        from embver.composite.build import define

        return _facade_version(
            define(self, name, components, combiner, missing=missing, metric=metric, author=author)
        )

    def rebuild(self, name: str, recursive: bool = False) -> Version:
        """Register composite ``name``'s version for what its pins resolve to now."""
        from embver.composite.build import rebuild

        return _facade_version(rebuild(self, name, recursive=recursive))

    def impact(self, ref: str) -> Impact:
        """Every composite that ``ref`` reaches, with the bump a rebuild would produce."""
        from embver.composite.impact import impact

        return impact(self, ref)


def map_queries(
    vectors: np.ndarray, from_ref: str, to_ref: str, *, store: Store | None = None
) -> np.ndarray:
    """Map query vectors embedded with ``from_ref`` into ``to_ref``'s space through the stored
    adapter (the query map ``embver migrate`` records for an ``adapter`` PATCH).

    Parameters
    ----------
    vectors : array of shape (m, d_from)
        Queries embedded with the ``from_ref`` version.
    from_ref, to_ref : str
        Version references, e.g. ``"docs@1.0.2"`` and ``"docs@1.0.1"`` (the index's version).
    store : Store, optional
        Default: :func:`open` (``$EMBVER_STORE`` or the nearest ``.embver/`` upward).

    Returns
    -------
    array of shape (m, d_to), float32
    """
    from embver.compare.api import adapter

    held = store if store is not None else open()
    return adapter(held, from_ref, to_ref).transform(vectors)


__all__ = ["Space", "Store", "Version", "init", "map_queries", "open"]
