"""Background layout jobs of the UI: the full projection computed once per version and method.

The version page does not wait for a projection: it draws a preview of sampled rows,
then the quick layout of every row (:func:`embver.project.layout.sampled_pca_layout`;
see :meth:`embver.server.data.UIData.first_frame`), while a :class:`LayoutJob` computes
the full one in a worker process (see :class:`LayoutJobs`) through
:func:`embver.project.api.project`,
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

import importlib
import itertools
import logging
import multiprocessing
import os
import pickle
import queue
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
        """``{stage, fraction, message, method, items, layout_ready, seconds, history,
        reached}``: ``reached`` the seconds at which each stage began."""
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
    """The background jobs of one UI server, one per (version id, method), deduplicated.

    They run one after another in a worker process (:class:`_Worker`), not in a thread:
    UMAP's and HDBSCAN's numba kernels hold the GIL, and in a thread of the server they
    would stall every request (the page's progress polls, hovers) for the whole
    projection. One long-lived worker keeps the kernels loaded between jobs; it leaves
    after :data:`WORKER_IDLE_S` without work and a new one starts with the next job.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._jobs: dict[tuple[int, str], LayoutJob] = {}
        self._lock = threading.Lock()
        self._worker: _Worker | None = None

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

    def start_worker(self, wait_s: float = 0.0) -> bool:
        """Start the worker now, if none is running, and wait up to ``wait_s`` for it to
        have imported the projection's libraries and loaded their kernels (~1.5-2.5 s on
        2 cores); whether it has. ``embver ui`` calls it as it starts, so that the first
        job starts on the work at once instead of behind the worker's imports."""
        with self._lock:
            worker = self._running_worker()
        return worker.ready.wait(wait_s)

    def close(self) -> None:
        """Let the worker leave once the jobs handed to it are done (the server stops)."""
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()

    @property
    def has_worker(self) -> bool:
        """Whether a worker process is running (started by a job, it outlives it a while)."""
        with self._lock:
            return self._worker is not None and self._worker.accepts()

    def _running_worker(self) -> _Worker:
        """The live worker, started if there is none (call with ``self._lock`` held)."""
        if self._worker is None or not self._worker.accepts():
            self._worker = _Worker(self.store)
        return self._worker

    def start(self, version: Version, method: str) -> LayoutJob:
        """The job of ``version`` and ``method``, handed to the worker if it is new.

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
            self._running_worker().submit(job)
        return job


#: a worker with nothing to do for this long exits (its memory goes back)
WORKER_IDLE_S = 120.0


class _Worker:
    """A spawned process computing jobs in turn, and the thread that follows its replies."""

    def __init__(self, store: Store) -> None:
        context = multiprocessing.get_context("spawn")
        self.requests = context.Queue()
        self.replies = context.Queue()
        self.process = context.Process(
            target=serve_jobs,
            args=(type(store), str(store.location.root), self.requests, self.replies),
            name="embver-layout-worker",
            daemon=True,
        )
        self.process.start()
        self._jobs: dict[int, LayoutJob] = {}
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._closed = False
        #: set once the process has imported its libraries and can take a job at once
        self.ready = threading.Event()
        threading.Thread(target=self._follow, name="embver-layout-replies", daemon=True).start()

    def accepts(self) -> bool:
        with self._lock:
            return not self._closed and self.process.is_alive()

    def submit(self, job: LayoutJob) -> None:
        with self._lock:
            number = next(self._numbers)
            self._jobs[number] = job
        self.requests.put((number, job.version.ref, job.method))

    def close(self) -> None:
        """No more jobs: the process leaves after those already handed to it."""
        with self._lock:
            self._closed = True
        self.requests.put(None)

    def _follow(self) -> None:
        while True:
            try:
                number, kind, *rest = self.replies.get(timeout=1.0)
            except queue.Empty:
                if self.process.is_alive():
                    continue
                self._ended()
                return
            if kind == "ready":
                self.ready.set()
                continue
            with self._lock:
                job = self._jobs.get(number)
            if job is None:
                continue
            if kind == "stage":
                job.move(rest[0], rest[1])
            elif kind == "layout":
                job.coords = rest[0]
            elif kind == "done":
                job.coords, job.clusters = rest
                self._finish(number, job, None)
            else:
                self._finish(number, job, rest[0])

    def _finish(self, number: int, job: LayoutJob, error: Exception | None) -> None:
        job.seconds = time.perf_counter() - job._started
        if error is None:
            job.move("full", f"{job.method.upper()} layout and clusters ready")
        else:
            logger.error("layout of %s (%s) failed: %s", job.version.ref, job.method, error)
            job.error = error
            job.move(FAILED, _failure_message(error))
        with self._lock:
            self._jobs.pop(number, None)
        job.done.set()

    def _ended(self) -> None:
        """The process is gone (idle, killed or crashed): jobs it left fail, none is taken."""
        with self._lock:
            self._closed = True
            left = list(self._jobs.items())
        code = self.process.exitcode
        for number, job in left:
            error = RuntimeError(f"the layout worker ended (exit code {code}) before it finished")
            self._finish(number, job, error)


def serve_jobs(store_class: type[Store], root: str, requests: Any, replies: Any) -> None:
    """The worker process: for each ``(number, ref, method)`` request, :func:`project` of
    ``ref`` into the store at ``root``, reported on ``replies`` as ``(number, "stage",
    stage, text)``, ``(number, "layout", coords)``, ``(number, "done", coords, clusters)``
    or ``(number, "failed", exception)``; ``(-1, "ready")`` first, once its libraries are
    loaded. Returns after :data:`WORKER_IDLE_S` idle, or at a ``None`` request."""
    from embver.project.layout import load_layout_kernels
    from embver.store.store import open as open_store

    _exit_with_parent()
    store = open_store(root, store_class=store_class)
    load_layout_kernels()
    # the vector engine the job reads with (~0.3 s, with pyarrow.dataset and pandas):
    # imported before the first job arrives, as the server does when it starts
    importlib.import_module("lance")
    replies.put((-1, "ready"))
    try:
        while True:
            try:
                request = requests.get(timeout=WORKER_IDLE_S)
            except queue.Empty:
                return
            if request is None:
                return
            number, ref, method = request
            _run_one(store, number, ref, method, replies)
    finally:
        store.close()
        replies.close()
        replies.join_thread()


def _exit_with_parent() -> None:
    """End this worker as soon as the server that spawned it is gone (killed, not closed)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="embver-layout-parent-watch", daemon=True).start()


def _run_one(store: Store, number: int, ref: str, method: str, replies: Any) -> None:
    try:
        version = store.get(ref)
        n = version.count

        def announce(step: str) -> None:
            if step.startswith("reading"):
                replies.put((number, "stage", "layout", f"reading the {n:,} vectors"))
            elif step == "clusters":
                text = f"finding clusters (HDBSCAN) among {n:,} items"
                replies.put((number, "stage", "clusters", text))
            else:
                text = f"computing the {method.upper()} layout of {n:,} items"
                replies.put((number, "stage", "layout", text))

        def layout_done(coords: np.ndarray) -> None:
            replies.put((number, "layout", np.asarray(coords, dtype=np.float32)[:, :2]))

        projection = project(
            store, version, method=method, dims=2, seed=0, progress=announce, on_layout=layout_done
        )
        coords = np.asarray(projection.coords, dtype=np.float32)[:, :2]
        replies.put((number, "done", coords, np.asarray(projection.clusters, dtype=np.int64)))
    except Exception as exc:
        try:
            pickle.dumps(exc)
            replies.put((number, "failed", exc))
        except Exception:
            replies.put((number, "failed", RuntimeError(f"{type(exc).__name__}: {exc}")))


def _failure_message(exc: Exception) -> str:
    """What the page is told: an embver error's own line; otherwise no internals."""
    from embver.errors import StoreError

    if isinstance(exc, StoreError):
        from embver.server.app import store_failure_message

        return store_failure_message(exc)
    if isinstance(exc, EmbverError):
        return str(exc)
    return "the layout could not be computed: the details are in the log of `embver ui`"
