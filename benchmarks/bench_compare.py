"""Benchmark of ``embver.compare`` against bare faiss flat search.

Runs, in one process:

1. a full comparison of 100k × 768 against 100k × 384 (default 10k sampled
   queries, exact neighbours against all 100k items), with its neighbour step
   timed against a bare faiss ``IndexFlatIP`` search of the same normalised
   vectors for the same queries and k;
2. (``--large``) a full comparison of 1M × 384 against a 1M × 384 PATCH with
   10k sampled queries.

Peak resident memory (``ru_maxrss``) is printed after each part, and CPU
seconds beside wall seconds: on a shared, busy machine the CPU time divided by
the thread count estimates the wall time on idle cores. Data: two
"versions" of the same items generated from one clustered latent structure
(500 clusters in a 96-d latent space), each mixed into its own output space
through a different random nonlinear map and given a power-law (i^-1)
covariance spectrum, as sentence-embedding spectra show.

    python benchmarks/bench_compare.py [--n 100000] [--large] [--threads 2]

Goals (issue 4): whole 100k comparison ≤ 120 s on 2 cores; neighbour step ≤ 1.2×
bare faiss; 1M × 384 with 10k queries ≤ 600 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time


def _threads(count: int) -> None:
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(count)


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB


def latent(n: int, seed: int, dims: int = 96, clusters: int = 500):  # type: ignore[no-untyped-def]
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dims)) * (np.arange(1, dims + 1) ** -0.5)
    assignment = rng.integers(0, clusters, size=n)
    within = (
        rng.standard_normal((n, dims)).astype(np.float32)
        * 0.6
        * np.float32(np.arange(1, dims + 1) ** -0.5)
    )
    return (centres[assignment].astype(np.float32) + within).astype(np.float32)


def version(z, out_dim: int, seed: int, noise: float = 0.05):  # type: ignore[no-untyped-def]
    """A nonlinear view of latent ``z`` in ``out_dim`` dims with a power-law spectrum."""
    import numpy as np

    rng = np.random.default_rng(seed)
    hidden = np.tanh(z @ rng.standard_normal((z.shape[1], 256)).astype(np.float32) * 0.5)
    spectrum = (np.arange(1, out_dim + 1) ** -0.5).astype(np.float32)
    basis = np.linalg.qr(rng.standard_normal((out_dim, out_dim)))[0].astype(np.float32)
    mix = rng.standard_normal((256, out_dim)).astype(np.float32) / 16.0
    out = np.empty((z.shape[0], out_dim), dtype=np.float32)
    for start in range(0, z.shape[0], 50_000):  # bounded temporaries
        block = hidden[start : start + 50_000] @ mix
        block += noise * rng.standard_normal(block.shape).astype(np.float32)
        out[start : start + 50_000] = (block * spectrum) @ basis
    return out


def bare_faiss_seconds(vectors, queries, k: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    import faiss
    import numpy as np

    data = np.array(vectors, dtype=np.float32, copy=True)
    faiss.normalize_L2(data)
    query_vectors = np.ascontiguousarray(data[queries])
    start, cpu = time.perf_counter(), time.process_time()
    index = faiss.IndexFlatIP(data.shape[1])
    index.add(data)
    index.search(query_vectors, k + 1)
    return time.perf_counter() - start, time.process_time() - cpu


def run_part(label: str, old, new, k=(10, 50)) -> None:  # type: ignore[no-untyped-def]
    from embver.compare.comparison import choose_queries, compare_arrays

    n = old.shape[0]
    queries = choose_queries(n, None, 0)
    bare_old = bare_faiss_seconds(old, queries, max(k))
    bare_new = bare_faiss_seconds(new, queries, max(k))
    bare, bare_cpu = bare_old[0] + bare_new[0], bare_old[1] + bare_new[1]
    start, cpu = time.perf_counter(), time.process_time()
    report = compare_arrays(old, new, k=k, seed=0)
    total, total_cpu = time.perf_counter() - start, time.process_time() - cpu
    neighbours = report.timings["neighbours"]
    neighbours_cpu = report.cpu_timings["neighbours"]
    d = report.to_dict()
    print(
        f"\n== {label}: {n} items, {old.shape[1]} vs {new.shape[1]} dims, "
        f"{report.n_queries} queries, k={k}"
    )
    print(f"whole comparison      {total:8.1f} s wall, {total_cpu:8.1f} s CPU")
    print("steps (wall)          " + "  ".join(f"{s} {t:.1f}s" for s, t in report.timings.items()))
    print(
        "steps (CPU)           " + "  ".join(f"{s} {t:.1f}s" for s, t in report.cpu_timings.items())
    )
    print(f"neighbour step        {neighbours:8.2f} s wall, {neighbours_cpu:8.2f} s CPU")
    print(
        f"bare faiss flat IP    {bare:8.2f} s wall, {bare_cpu:8.2f} s CPU"
        f"  (both versions, same queries, k={max(k) + 1})"
    )
    print(
        f"ratio embver / faiss  {neighbours / bare:8.2f}x wall, "
        f"{neighbours_cpu / bare_cpu:.2f}x CPU"
    )
    print(f"peak RSS so far       {peak_rss_gib():8.2f} GiB")
    print(
        f"overlap@10 mean {d['neighbourhood']['10']['overlap']['mean']:.4f} "
        f"CI {d['neighbourhood']['10']['overlap']['ci_low']:.4f}"
        f"..{d['neighbourhood']['10']['overlap']['ci_high']:.4f}  "
        f"debiased CKA {d['structure']['cka_debiased']:.4f}"
    )
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--large", action="store_true", help="also 1M × 384 with 10k queries")
    parser.add_argument("--large-n", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only-large", action="store_true", help="skip the 100k part")
    args = parser.parse_args()
    _threads(args.threads)
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(args.threads)
    print(f"threads {args.threads}; cpus {os.cpu_count()}; load {os.getloadavg()}")
    if not args.only_large:
        start = time.perf_counter()
        z = latent(args.n, seed=0)
        old, new = version(z, 768, seed=1), version(z, 384, seed=2)
        del z
        print(
            f"data generated in {time.perf_counter() - start:.1f} s; RSS {peak_rss_gib():.2f} GiB"
        )
        run_part(f"{args.n} items, 768 vs 384", old, new)
        del old, new
    if args.large or args.only_large:
        z = latent(args.large_n, seed=3)
        old = version(z, 384, seed=4)
        del z
        rng = np.random.default_rng(5)
        new = old.copy()
        for start in range(0, new.shape[0], 100_000):  # a PATCH: small retraining noise
            block = new[start : start + 100_000]
            block += (
                0.02 * rng.standard_normal(block.shape).astype(np.float32) * np.abs(block).mean()
            )
        run_part("1M, 384 vs 384 PATCH", old, new)
    print(f"\npeak RSS {peak_rss_gib():.2f} GiB; load {os.getloadavg()}")


if __name__ == "__main__":
    main()
