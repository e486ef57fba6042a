"""UMAP's layout optimisation on every core, and still bit-for-bit reproducible.

umap-learn runs its stochastic gradient descent on one thread as soon as a seed
is given: its parallel loop lets threads race on shared points, so the result
would depend on scheduling. This optimiser keeps UMAP's objective, sampling
schedule and learning-rate decay, and removes the race instead of the threads:

- each epoch reads the other points from a snapshot taken at its start and
  writes only the point being processed, so no thread reads what another writes;
- a point moves along its own edges in sequence (as in umap-learn), and since
  the fuzzy graph is symmetric, the pull that umap-learn gives the tail of an
  edge arrives through the reverse edge instead (hence the factor 2 on the
  attraction, which keeps umap-learn's balance of two pulls per edge sample
  against its negative samples);
- negative samples come from a random stream per point, seeded.

The quality is measured against umap-learn in benchmarks/bench_project.py
(trustworthiness) and floors are asserted in tests/project/test_layout.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from embver.project._numba_cache import ensure_numba_cache_dir

ensure_numba_cache_dir()  # before numba loads: its kernels then cache in embver's folder
import numba  # noqa: E402

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
#: below this many points an epoch runs on one thread: its work (~1 ms at 3,000 points) is
#: smaller than waking the others, most of all on a busy machine. The result is the same
#: bit for bit (each point is written by one thread from a snapshot). Measured on 2 busy
#: cores, a 5-d layout of 384-d vectors (200 epochs): 400 points 0.57 s CPU on one thread
#: against 1.1 s on two, 3,000 points 1.8 s against 3.2 s (a compare runs four of them).
SERIAL_BELOW = 5_000


@contextmanager
def _threads_for(n_points: int) -> Iterator[None]:
    """numba's thread count for an optimisation of ``n_points``, restored afterwards."""
    threads = numba.get_num_threads()
    if n_points < SERIAL_BELOW:
        numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(threads)


@numba.njit(inline="always")
def _clip(value: float) -> float:
    return max(-4.0, min(4.0, value))


@numba.njit(inline="always")
def _clip32(value: np.float32) -> np.float32:
    return max(np.float32(-4.0), min(np.float32(4.0), value))


@numba.njit(inline="always")
def _next_random(state: np.ndarray) -> int:
    """Tausworthe generator (as umap-learn's), advancing ``state`` (3 int64) in place."""
    state[0] = (((state[0] & 4294967294) << 12) & 0xFFFFFFFF) ^ (
        (((state[0] << 13) & 0xFFFFFFFF) ^ state[0]) >> 19
    )
    state[1] = (((state[1] & 4294967288) << 4) & 0xFFFFFFFF) ^ (
        (((state[1] << 2) & 0xFFFFFFFF) ^ state[1]) >> 25
    )
    state[2] = (((state[2] & 4294967280) << 17) & 0xFFFFFFFF) ^ (
        (((state[2] << 3) & 0xFFFFFFFF) ^ state[2]) >> 11
    )
    return state[0] ^ state[1] ^ state[2]


@numba.njit(parallel=True, fastmath=True, cache=True)
def _epoch(
    old: np.ndarray,
    new: np.ndarray,
    indptr: np.ndarray,
    tail: np.ndarray,
    epochs_per_sample: np.ndarray,
    epochs_per_negative_sample: np.ndarray,
    next_sample: np.ndarray,
    next_negative_sample: np.ndarray,
    random_states: np.ndarray,
    a: float,
    b: float,
    gamma: float,
    alpha: float,
    epoch: int,
) -> None:
    n_points, dims = old.shape
    for j in numba.prange(n_points):
        current = new[j]
        # element by element: a slice assignment here costs numba ~2.5 s more to compile
        # (a first run on a machine waits for that compile), for the same arithmetic
        for d in range(dims):
            current[d] = old[j, d]
        for edge in range(indptr[j], indptr[j + 1]):
            if next_sample[edge] > epoch:
                continue
            other = old[tail[edge]]
            dist2 = 0.0
            for d in range(dims):
                dist2 += (current[d] - other[d]) ** 2
            if dist2 > 0.0:
                coeff = -2.0 * a * b * dist2 ** (b - 1.0) / (a * dist2**b + 1.0)
                for d in range(dims):
                    current[d] += 2.0 * _clip(coeff * (current[d] - other[d])) * alpha
            next_sample[edge] += epochs_per_sample[edge]

            n_negative = int(
                (epoch - next_negative_sample[edge]) / epochs_per_negative_sample[edge]
            )
            for _ in range(n_negative):
                k = _next_random(random_states[j]) % n_points
                if k == j:
                    continue
                other = old[k]
                dist2 = 0.0
                for d in range(dims):
                    dist2 += (current[d] - other[d]) ** 2
                if dist2 > 0.0:
                    coeff = 2.0 * gamma * b / ((0.001 + dist2) * (a * dist2**b + 1.0))
                    for d in range(dims):
                        current[d] += _clip(coeff * (current[d] - other[d])) * alpha
            next_negative_sample[edge] += n_negative * epochs_per_negative_sample[edge]


#: the same epoch on the calling thread alone, for layouts below SERIAL_BELOW points: it
#: releases the GIL, so independent small layouts (a compare's four clusterings) run side by
#: side on threads, which the parallel kernel's thread pool may not be entered from
_serial_epoch = numba.njit(nogil=True, fastmath=True, cache=True)(_epoch.py_func)


@numba.njit(parallel=True, fastmath=True, cache=True)
def _fast_epoch(
    old: np.ndarray,
    new: np.ndarray,
    indptr: np.ndarray,
    tail: np.ndarray,
    epochs_per_sample: np.ndarray,
    epochs_per_negative_sample: np.ndarray,
    next_sample: np.ndarray,
    next_negative_sample: np.ndarray,
    random_states: np.ndarray,
    a: float,
    b: float,
    gamma: float,
    alpha: float,
    epoch: int,
) -> None:
    """:func:`_epoch` with cheaper arithmetic, for large layouts (``optimize_layout(fast=True)``).

    The same steps, sampling and clipping; the arithmetic in float32 with one power per
    attraction (not two), the random stream kept in registers and negative samples drawn
    by a multiply-shift instead of a modulo. Measured at 100k points (2-D, one thread, 2
    busy cores): ~115 ms an epoch against ~325 ms. Not bit-identical to :func:`_epoch`, so
    the layouts that tests and figures pin never take it.
    """
    n_points, dims = old.shape
    a32, b32, step = np.float32(a), np.float32(b), np.float32(alpha)
    attract, repel = np.float32(-2.0 * a * b), np.float32(2.0 * gamma * b)
    one, offset = np.float32(1.0), np.float32(0.001)
    for j in numba.prange(n_points):
        current = new[j]
        for d in range(dims):  # element by element: see _epoch
            current[d] = old[j, d]
        s0, s1, s2 = random_states[j, 0], random_states[j, 1], random_states[j, 2]
        for edge in range(indptr[j], indptr[j + 1]):
            if next_sample[edge] > epoch:
                continue
            other = old[tail[edge]]
            dist2 = np.float32(0.0)
            for d in range(dims):
                dist2 += (current[d] - other[d]) ** 2
            if dist2 > 0.0:
                power = dist2**b32
                # -2ab d2^(b-1) / (a d2^b + 1) with one power, not two
                coeff = attract * power / (dist2 * (a32 * power + one))
                for d in range(dims):
                    current[d] += np.float32(2.0) * _clip32(coeff * (current[d] - other[d])) * step
            next_sample[edge] += epochs_per_sample[edge]
            n_negative = int(
                (epoch - next_negative_sample[edge]) / epochs_per_negative_sample[edge]
            )
            for _ in range(n_negative):
                s0 = (((s0 & 4294967294) << 12) & 0xFFFFFFFF) ^ (
                    (((s0 << 13) & 0xFFFFFFFF) ^ s0) >> 19
                )
                s1 = (((s1 & 4294967288) << 4) & 0xFFFFFFFF) ^ (
                    (((s1 << 2) & 0xFFFFFFFF) ^ s1) >> 25
                )
                s2 = (((s2 & 4294967280) << 17) & 0xFFFFFFFF) ^ (
                    (((s2 << 3) & 0xFFFFFFFF) ^ s2) >> 11
                )
                k = (((s0 ^ s1 ^ s2) & 0xFFFFFFFF) * n_points) >> 32
                if k == j:
                    continue
                other = old[k]
                dist2 = np.float32(0.0)
                for d in range(dims):
                    dist2 += (current[d] - other[d]) ** 2
                if dist2 > 0.0:
                    coeff = repel / ((offset + dist2) * (a32 * dist2**b32 + one))
                    for d in range(dims):
                        current[d] += _clip32(coeff * (current[d] - other[d])) * step
            next_negative_sample[edge] += n_negative * epochs_per_negative_sample[edge]
        random_states[j, 0], random_states[j, 1], random_states[j, 2] = s0, s1, s2


def optimize_layout(
    start: np.ndarray,
    indptr: np.ndarray,
    tail: np.ndarray,
    epochs_per_sample: np.ndarray,
    n_epochs: int,
    a: float,
    b: float,
    seed: int,
    gamma: float = 1.0,
    initial_alpha: float = 1.0,
    negative_sample_rate: float = 5.0,
    fast: bool = False,
) -> np.ndarray:
    """Optimise ``start`` (n, dims) for the graph given in CSR form (``indptr``, ``tail``).

    ``epochs_per_sample`` is umap-learn's per-edge schedule (its
    ``make_epochs_per_sample`` of the edge weights); the learning rate decays
    linearly from ``initial_alpha`` to 0 over ``n_epochs``, as in umap-learn.
    ``fast`` runs :func:`_fast_epoch` (on every core, whatever the size).
    """
    old = np.ascontiguousarray(start, dtype=np.float32).copy()
    new = np.empty_like(old)
    epochs_per_sample = np.asarray(epochs_per_sample, dtype=np.float64)
    epochs_per_negative_sample = epochs_per_sample / negative_sample_rate
    next_sample = epochs_per_sample.copy()
    next_negative_sample = epochs_per_negative_sample.copy()
    random_states = np.random.default_rng(seed).integers(
        _INT32_MIN, _INT32_MAX, size=(len(old), 3), dtype=np.int64
    )
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    tail = np.ascontiguousarray(tail, dtype=np.int64)
    alpha = initial_alpha
    epoch_kernel = _epoch if len(old) >= SERIAL_BELOW else _serial_epoch
    if fast:
        epoch_kernel = _fast_epoch
    with _threads_for(len(old) if not fast else SERIAL_BELOW):
        for epoch in range(n_epochs):
            epoch_kernel(
                old,
                new,
                indptr,
                tail,
                epochs_per_sample,
                epochs_per_negative_sample,
                next_sample,
                next_negative_sample,
                random_states,
                a,
                b,
                gamma,
                alpha,
                epoch,
            )
            old, new = new, old
            alpha = initial_alpha * (1.0 - epoch / n_epochs)
    return old
