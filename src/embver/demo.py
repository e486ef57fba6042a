"""``embver demo``: the story of the seed on real models and data (or generated vectors)."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import embver
from embver.core import Recipe
from embver.core.lineage import Node, render_tree


def _clustered(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points in 5 Gaussian clusters of width 0.3 around unit centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(5, dim))
    labels = rng.integers(0, 5, size=n)
    return centres[labels] + 0.3 * rng.normal(size=(n, dim)), labels


def run_demo(
    path: str | Path,
    echo: Callable[[str], None] = print,
    n: int = 2000,
    synthetic: bool = False,
    announce: Callable[[str], None] | None = None,
    **story: object,
) -> embver.Store:
    """Create a store in ``path`` and register the story's versions; return the store.

    With the models extra installed the story is real (BBC news through MiniLM,
    see :mod:`embver.extract.story`; ``story`` options go there); otherwise, or
    with ``synthetic=True``, it runs on generated vectors. ``announce`` is called
    with each step of the real story as it starts.
    """
    from embver.extract.story import models_available, real_story

    started = time.perf_counter()
    store = embver.init(path)
    real = not synthetic and models_available()
    if real:
        real_story(
            store,
            Path(path),
            echo,
            announce=announce,
            judge=_judge(store),
            **story,  # type: ignore[arg-type]
        )
    else:
        if not synthetic:
            echo("(models not installed — pip install 'embver[models]'; generated vectors instead)")
        _synthetic_story(store, echo, n)
    (name,) = store.space_names()
    _choose_best(store, name, echo)
    if real:
        _serve_a_query(store, name, echo)
    echo(f"\nthe story took {time.perf_counter() - started:.0f} s\n")
    for line in version_tree(store, name):
        echo(line)
    echo(f"\nstore: {store.location.root}")
    for line in next_steps(path, name):
        echo(line)
    return store


def version_tree(store: embver.Store, name: str) -> list[str]:
    """The lines of space ``name``'s version tree: number, bump and aliases of each version."""
    versions = store.versions(name)
    nodes = [
        Node(v.id, v.parent_id, f"{v.number} [{v.bump}] {' '.join(v.aliases)}") for v in versions
    ]
    return render_tree(nodes)


def next_steps(path: str | Path, name: str) -> list[str]:
    """What a CLI user can do next with the demo store in ``path`` (space ``name``)."""
    return [
        f"next:  cd {_shell(path)} && embver log {name}",
        f"       embver compare {name}@1.0.0 {name}@1.1.0",
        f"       embver eval {name}@1.0.0 {name}@best --compare   (which is better, and how sure)",
        f"       embver serve   (then POST /v1/embeddings with model={name}@best)",
        "       embver ui --open      (the projections and comparisons in your browser)",
    ]


def refuse_existing(path: str | Path) -> None:
    """Raise StoreError, with the CLI commands that explore it, when ``path`` holds a store."""
    from embver.errors import StoreError, StoreNotFoundError

    try:
        existing = embver.open(path)
    except StoreNotFoundError:
        return
    with existing:
        names = existing.space_names()
    explore = f"cd {_shell(path)}" + (f" && embver log {names[0]}" if names else "")
    raise StoreError(
        f"a demo store already exists in {Path(path)}; explore it with `{explore}`, "
        f"or run the story again in a new folder with `embver demo OTHER_FOLDER`"
    )


def _shell(path: str | Path) -> str:
    """``path`` as a shell word (quoted when it holds spaces or other specials)."""
    return shlex.quote(str(Path(path)))


def _synthetic_story(store: embver.Store, echo: Callable[[str], None], n: int) -> None:
    """The stop-sign story on generated vectors (no models needed)."""
    space = store.space("stop-signs")
    vectors, labels = _clustered(n, 64, seed=0)
    ids = [f"sign-{i:05d}" for i in range(n)]
    texts = [f"stop sign photo {i} (kind {k})" for i, k in enumerate(labels)]
    base = Recipe(architecture="cnn-64:a1", extraction="avgpool:e1", weights="run-5:w1", dim=64)
    rng = np.random.default_rng(1)
    steps: list[tuple[str, Recipe, np.ndarray, str | None]] = [
        ("fifth try", base, vectors, None),
        (
            "retrained with more data",
            _with(base, weights="run-6:w2"),
            vectors + 0.02 * rng.normal(size=vectors.shape),
            None,
        ),
        (
            "max pooling instead",
            _with(base, extraction="maxpool:e2"),
            np.abs(vectors),
            "1.0.0",
        ),
        (
            "new architecture, 32-d",
            _with(base, architecture="vit-32:a2", dim=32),
            vectors[:, :32] @ rng.normal(size=(32, 32)),
            None,
        ),
    ]
    for story, recipe, matrix, parent in steps:
        version = space.register(
            matrix, ids=ids, recipe=recipe, texts=texts, labels=labels.tolist(), parent=parent
        )
        verdict = f"  verdict: {version.verdict['label']}" if version.verdict else ""
        reasons = "; ".join(version.reasons)
        echo(f"{story:<28} → {version.ref}  [{version.bump.name}]  {reasons}{verdict}")


#: the task that picks ``best``: 5-NN topic accuracy, by 5-fold cross-validation
BEST_TASK = "knn-accuracy"
BEST_K = 5


def _folds(store: embver.Store, name: str) -> int:
    """5 cross-validation folds, or fewer when a topic has fewer items (a tiny demo)."""
    counts = store.items(name)["label"].value_counts()
    return max(2, min(5, int(counts.min())))


def _judge(store: embver.Store) -> Callable[[embver.Version], str]:
    """The figure printed beside each version of the real story: embver's own evaluation."""

    def judge(version: embver.Version) -> str:
        folds = _folds(store, version.space)
        figure = store.evaluate(version, BEST_TASK, k=BEST_K, folds=folds).headline
        return f"5-NN topic accuracy {figure.value:.3f} (chance {figure.chance:.2f})"

    return judge


def _choose_best(store: embver.Store, name: str, echo: Callable[[str], None]) -> None:
    """Evaluate every version on the task and point ``best`` at the highest (``eval``)."""
    from embver.evaluate.api import best_by

    folds = _folds(store, name)
    for version in store.versions(name):
        store.evaluate(version, BEST_TASK, k=BEST_K, folds=folds)
    best, why = best_by(store, name, BEST_TASK)
    figures = ", ".join(f"{ref.split('@')[1]} {value:.3f}" for ref, value in why["figures"].items())
    reason = f"highest 5-NN topic accuracy ({figures})"
    store.set_alias(name, "best", str(best.number), reason=reason)
    echo(f"alias best → {best.number} ({reason})")


def _serve_a_query(store: embver.Store, name: str, echo: Callable[[str], None]) -> None:
    """The best version embeds a new query with its kept model and finds the nearest article."""
    from embver.neighbors import knn

    best = store.get(f"{name}@best")
    query = "Shares fell sharply after the central bank raised interest rates"
    encoded = best.encoder().encode([query])
    vectors, ids = best.vectors(), best.ids
    nearest = knn(vectors, 1, metric=best.metric, queries=encoded)[0, 0]
    item = store.items(name, ids=[ids[nearest]]).iloc[0]
    echo(f"\n{best.ref} embeds a new query with the model it keeps (embver encode):")
    echo(f"  {query!r}")
    echo(f"  nearest article: [{item['label']}] {str(item['text'])[:90]}")


def _with(recipe: Recipe, **changes: object) -> Recipe:
    from dataclasses import replace

    return replace(recipe, **changes)  # type: ignore[arg-type]
