"""Background layout jobs of the UI: the full projection computed once per version and method.

The version page does not wait for a projection: it draws a quick layout at once
(:func:`embver.project.layout.sampled_pca_layout`) while a :class:`LayoutJob` computes
the full one in a background thread through :func:`embver.project.api.project`,
the same call as ``embver project`` and the report make, so the result is the
store's cached artifact they read. A job exists once per (version, method):
every request for it (the page, its colours, the compare page) shares it.

A job moves through :data:`STAGES` in order:

``queued``   created, its thread not yet started on the work;
``layout``   reading the vectors and computing the 2-D layout;
``clusters`` the layout is ready (the page draws it), HDBSCAN clusters are running;
``full``     the projection is complete and cached in the store;

or ends in ``failed`` with the error's message.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from embver.errors import EmbverError
from embver.project.api import project

if TYPE_CHECKING:
    from embver.store import Store, Version

logger = logging.getLogger("embver.server")

STAGES = ("queued", "layout", "clusters", "full")
FAILED = "failed"
#: the share of the work done when a stage starts. Coarse: the layout and the clusters
#: (a 5-D UMAP and HDBSCAN) take about as long as each other at 100k items.
STAGE_FRACTION = {"queued": 0.0, "layout": 0.05, "clusters": 0.5, "full": 1.0, FAILED: 1.0}


@dataclass
class LayoutJob:
    """One full projection (2-D, seed 0) of a version being computed, or computed."""

    version: Version
    method: str
    stage: str = "queued"
    message: str = "waiting to start"
    coords: np.ndarray | None = None
    clusters: np.ndarray | None = None
    error: EmbverError | Exception | None = None
    seconds: float = 0.0
    history: list[str] = field(default_factory=lambda: ["queued"])
    #: seconds from the job's creation to the start of each stage it reached
    reached: dict[str, float] = field(default_factory=lambda: {"queued": 0.0})
    done: threading.Event = field(default_factory=threading.Event)
    _started: float = field(default_factory=time.perf_counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def layout_ready(self) -> bool:
        return self.coords is not None

    def move(self, stage: str, message: str) -> None:
        with self._lock:
            if stage != self.stage:
                self.history.append(stage)
                self.reached[stage] = round(time.perf_counter() - self._started, 3)
            self.stage, self.message = stage, message

    def status(self) -> dict[str, Any]:
        """``{stage, fraction, message, method, items, layout_ready, seconds, history, reached}``."""
        with self._lock:
            elapsed = self.seconds if self.done.is_set() else time.perf_counter() - self._started
            return {
                "stage": self.stage,
                "fraction": STAGE_FRACTION[self.stage],
                "message": self.message,
                "method": self.method,
                "items": self.version.count,
                "layout_ready": self.coords is not None,
                "seconds": round(elapsed, 3),
                "history": list(self.history),
                "reached": dict(self.reached),
            }

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Wait for the job; its coords (n, 2) float32 and clusters (n,) int64, or its error."""
        self.done.wait()
        if self.error is not None:
            raise self.error
        assert self.coords is not None and self.clusters is not None
        return self.coords, self.clusters


class LayoutJobs:
    """The background jobs of one UI server, one per (version id, method), deduplicated."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._jobs: dict[tuple[int, str], LayoutJob] = {}
        self._lock = threading.Lock()

    def get(self, version: Version, method: str) -> LayoutJob | None:
        """The job of ``version`` and ``method`` if one was started."""
        with self._lock:
            return self._jobs.get((version.id, method))

    def finished(
        self, version: Version, method: str, coords: np.ndarray, clusters: np.ndarray
    ) -> LayoutJob:
        """Record a projection found in the store's cache as a finished job."""
        job = LayoutJob(version=version, method=method, coords=coords, clusters=clusters)
        job.move("full", "read from the store's cache")
        job.done.set()
        with self._lock:
            return self._jobs.setdefault((version.id, method), job)

    def start(self, version: Version, method: str) -> LayoutJob:
        """The job of ``version`` and ``method``, started in a daemon thread if it is new.

        A job that failed is started afresh on the next request (the failure may have
        been a store that was busy, or damaged and since repaired).
        """
        with self._lock:
            key = (version.id, method)
            job = self._jobs.get(key)
            if job is not None and job.stage != FAILED:
                return job
            job = LayoutJob(version=version, method=method)
            self._jobs[key] = job
        thread = threading.Thread(
            target=self._run, args=(job,), name=f"embver-layout-{version.ref}-{method}", daemon=True
        )
        thread.start()
        return job

    def _run(self, job: LayoutJob) -> None:
        n = job.version.count

        def announce(step: str) -> None:
            if step.startswith("reading"):
                job.move("layout", f"reading the {n:,} vectors")
            elif step == "clusters":
                job.move("clusters", f"finding clusters (HDBSCAN) among {n:,} items")
            else:
                job.move("layout", f"computing the {job.method.upper()} layout of {n:,} items")

        def layout_done(coords: np.ndarray) -> None:
            job.coords = np.asarray(coords, dtype=np.float32)[:, :2]

        try:
            job.move("layout", f"computing the {job.method.upper()} layout of {n:,} items")
            projection = project(
                self.store,
                job.version,
                method=job.method,
                dims=2,
                seed=0,
                progress=announce,
                on_layout=layout_done,
            )
            job.coords = np.asarray(projection.coords, dtype=np.float32)[:, :2]
            job.clusters = np.asarray(projection.clusters, dtype=np.int64)
            job.seconds = time.perf_counter() - job._started
            job.move("full", f"{job.method.upper()} layout and clusters ready")
        except Exception as exc:  # reported to every waiter and in the status
            logger.error("layout of %s (%s) failed: %s", job.version.ref, job.method, exc)
            job.error = exc
            job.seconds = time.perf_counter() - job._started
            job.move(FAILED, _failure_message(exc))
        finally:
            job.done.set()


def _failure_message(exc: Exception) -> str:
    """What the page is told: an embver error's own line; otherwise no internals."""
    from embver.errors import StoreError

    if isinstance(exc, StoreError):
        from embver.server.app import store_failure_message

        return store_failure_message(exc)
    if isinstance(exc, EmbverError):
        return str(exc)
    return "the layout could not be computed: the details are in the log of `embver ui`"
