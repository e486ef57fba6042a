"""Planned batches computed on a Ray cluster with Ray Data, gathered back on the driver.

The driver (the process that called ``space.embed``) loads the model, resolves
the extraction, tokenises to plan length-sorted batches, and keeps the
checkpoint and the store. Ray Data gets one row per planned batch (its
positions and raw items); a pool of actors, each loading the model once,
prepares and encodes a row and returns one ``(position, vector)`` row per item.
The driver commits every block to the checkpoint as it arrives, so an
interrupted run resumes, and registration is the same as for a local run: the
executor never enters the recipe.

A model given by name or folder is rebuilt on each actor from that name (the
model must be installed, or the folder reachable, on every node) and checked
against the driver's fingerprints; a model object is put in Ray's object store
once.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from embver import errors
from embver.errors import ClusterError, DependencyError, EmbverError, InvalidInputError
from embver.extract.encoders import Encoder
from embver.extract.runner import BatchExecutor
from embver.extract.spec import Extraction

#: ray.init addresses that name no host to probe
_SPECIAL_ADDRESSES = {"auto", "local"}
#: how an embver error appears in the text of a Ray error
_EMBVER_ERROR_LINE = re.compile(r"embver\.errors\.(\w+): (.+)")


def import_ray() -> Any:
    """The ``ray`` module with Ray Data, or a DependencyError saying how to install it."""
    try:
        import ray
        import ray.data  # Ray Data ships in the ray[data] extra
    except ImportError as error:
        raise DependencyError(
            f"embedding on Ray needs ray with Ray Data ({error}): pip install 'embver[ray]'"
        ) from error
    return ray


@contextmanager
def ray_session(address: bool | str) -> Iterator[Any]:
    """A connection to Ray for the duration of the block (``ray`` module).

    Parameters
    ----------
    address : True or str
        True: the connection this process already has, else ``ray.init()``
        (``RAY_ADDRESS``, or a new Ray on this machine). A string: that cluster
        (``host:6379``, ``ray://host:10001``, ``auto``, ``local``), checked to be
        reachable first. A connection made here is closed at the end.
    """
    ray = import_ray()
    wanted = None if address is True else str(address)
    if wanted is not None:
        _probe(wanted)
    if ray.is_initialized():
        _check_same_cluster(ray, wanted)
        yield ray
        return
    _connect(ray, wanted)
    try:
        yield ray
    finally:
        ray.shutdown()


def _probe(address: str) -> None:
    """Fail fast, naming the address, when nothing listens there (ray.init would wait long)."""
    if address in _SPECIAL_ADDRESSES:
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise InvalidInputError(
            f"Ray address {address!r} is not host:port; pass e.g. 127.0.0.1:6379 "
            "(what `ray start --head` prints), ray://host:10001, or auto"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as error:
        raise ClusterError(
            f"cannot reach the Ray cluster at {address!r}: {error}. Start one with "
            "`ray start --head` and pass the address it prints, or check host and port"
        ) from error


def _check_same_cluster(ray: Any, wanted: str | None) -> None:
    current = ray.get_runtime_context().gcs_address
    if wanted is None or wanted in _SPECIAL_ADDRESSES or wanted == current:
        return
    raise ClusterError(
        f"this process is already connected to Ray at {current!r}, not {wanted!r}; pass "
        "ray=True to use that connection, or call ray.shutdown() first"
    )


def _connect(ray: Any, address: str | None) -> None:
    import logging
    import warnings

    try:
        with warnings.catch_warnings():
            # Ray starts its processes with fork + exec: nothing of Lance runs in the child
            warnings.filterwarnings("ignore", message="lance is not fork-safe")
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except Exception as error:  # Ray raises ConnectionError, RuntimeError, ValueError, ...
        where = address or os.environ.get("RAY_ADDRESS") or "a new local Ray"
        raise ClusterError(f"could not connect to Ray ({where}): {error}") from error


def model_for_workers(ray: Any, model: Any, encoder: Encoder) -> str | list[Any]:
    """What actors rebuild the model from: its name or absolute folder, or [object ref].

    A model object is put in Ray's object store once (the ref travels in a list so
    that Ray does not resolve it before the actor asks for it).
    """
    if isinstance(model, (str, os.PathLike)):
        path = Path(model).expanduser()
        return str(path.resolve()) if path.exists() else str(model)
    try:
        return [ray.put(encoder)]
    except Exception as error:  # Ray raises TypeError and others for unpicklable state
        raise InvalidInputError(
            f"the model object ({type(model).__name__}) cannot be sent to Ray workers: "
            f"{str(error).splitlines()[0]}; save it to a folder every node can read "
            "(embver.extract.finetune.save or save_pretrained) and pass that path"
        ) from error


class EncodeActor:
    """A Ray Data callable class: loads the model once, then encodes whole planned batches."""

    def __init__(
        self,
        model: str | list[Any],
        extraction: Extraction,
        fingerprints: dict[str, str],
        threads: int,
    ) -> None:
        import torch

        from embver.extract.sources import load_model

        torch.set_num_threads(threads)
        if isinstance(model, list):
            import ray

            model = ray.get(model[0])
        self.encoder = load_model(model)
        self.extraction = extraction
        found = self.encoder.fingerprints(extraction)
        if found != fingerprints:
            raise ClusterError(
                f"the model {model!r} loaded on Ray node {socket.gethostname()!r} has "
                f"fingerprints {found}, not the driver's {fingerprints}; install the same "
                "model on every node"
            )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        positions, vectors = [], []
        for row_positions, row_items in zip(batch["positions"], batch["items"], strict=True):
            items = [str(i) if isinstance(i, str) else i for i in row_items]
            prepared = self.encoder.prepare(items, self.extraction)
            everything = np.arange(len(items), dtype=np.int64)
            vectors.append(self.encoder.encode(prepared, everything, self.extraction))
            positions.append(np.asarray(row_positions, dtype=np.int64))
        return {"position": np.concatenate(positions), "vector": np.concatenate(vectors)}


def ray_executor(
    ray: Any,
    model: str | list[Any],
    items: list[Any],
    extraction: Extraction,
    fingerprints: dict[str, str],
    *,
    concurrency: int | None = None,
    threads: int | None = None,
) -> BatchExecutor:
    """A :data:`~embver.extract.runner.BatchExecutor` running each planned batch on a Ray actor.

    Parameters
    ----------
    ray : module
        A connected ``ray`` (see :func:`ray_session`).
    model : str, or a list holding an object ref
        From :func:`model_for_workers`.
    items : list, length n
        Raw items (texts, image paths); a batch's positions index into it.
    concurrency : int, optional
        Actors in the pool (default: the cluster's CPUs divided by ``threads``).
    threads : int, optional
        CPUs (and torch threads) per actor; default 1.
    """
    threads = threads or 1
    if concurrency is not None and concurrency < 1:
        raise InvalidInputError(f"ray_concurrency is {concurrency!r}; use a positive integer")
    items = [str(i) if isinstance(i, os.PathLike) else i for i in items]

    def execute(plan: list[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        actors = concurrency or max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
        rows = [{"positions": p, "items": [items[i] for i in p]} for p in plan]
        dataset = ray.data.from_items(rows).map_batches(
            EncodeActor,
            fn_constructor_kwargs={
                "model": model,
                "extraction": extraction,
                "fingerprints": fingerprints,
                "threads": threads,
            },
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=min(actors, len(plan))),
            num_cpus=threads,
        )
        with _quiet_ray_data(ray):
            try:
                for block in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                    yield block["position"], np.asarray(block["vector"], dtype=np.float32)
            except Exception as error:
                raise _cause(error) from error

    return execute


@contextmanager
def _quiet_ray_data(ray: Any) -> Iterator[None]:
    """embver's own progress bar reports batches; Ray Data's bars and logs would interleave."""
    import logging

    context = ray.data.DataContext.get_current()
    logger = logging.getLogger("ray.data")
    previous = context.enable_progress_bars, context.print_on_execution_start, logger.level
    context.enable_progress_bars, context.print_on_execution_start = False, False
    logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        context.enable_progress_bars, context.print_on_execution_start = previous[:2]
        logger.setLevel(previous[2])


def _cause(error: BaseException) -> EmbverError:
    """The embver error an actor raised, rebuilt on the driver, else a ClusterError.

    Ray keeps the original exception of a failed task (``.cause``) but only the
    text of one that killed an actor's constructor, so that text is read too.
    """
    chain: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and len(chain) < 10:
        chain.append(link)
        link = getattr(link, "cause", None) or link.__cause__
    for link in chain:
        if isinstance(link, EmbverError) and not isinstance(link, _ray_error_types()):
            return link
    for link in chain:
        found = _EMBVER_ERROR_LINE.findall(str(link))
        kind = getattr(errors, found[-1][0], None) if found else None
        if isinstance(kind, type) and issubclass(kind, EmbverError):
            return kind(f"on a Ray actor: {found[-1][1]}")
    return ClusterError(f"embedding on Ray failed: {type(error).__name__}: {error}")


def _ray_error_types() -> tuple[type, ...]:
    from ray.exceptions import RayError

    return (RayError,)
