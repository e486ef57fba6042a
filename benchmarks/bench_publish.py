"""Benchmark of ``embver publish`` and ``embver migrate`` against each backend's own bulk path.

On the same N × 384 float32 vectors (default 1M; ``--small``: 100k), each side in a fresh
child process (so one side's allocations cannot hide in another's freed memory):

1. pgvector (a ``pgserver`` PostgreSQL): ``publish`` against a binary COPY written by hand
   into a table of the same columns (id, vector, embver_space, embver_version,
   embver_content_hash — the hand path hashes the rows too);
2. LanceDB: ``publish`` against ``table.add`` of Arrow batches by hand;
3. FAISS: ``publish`` against ``IndexIDMap2(IndexFlatIP)`` + ``add_with_ids`` +
   ``write_index`` + the id map written to Parquet by hand (a flat FAISS index lives in
   memory whole, so the memory budget does not apply to either side);
4. a breaking migration of the pgvector index (a MINOR version: shadow table, verify,
   view swap) while a reader thread of this process queries the reader view in a loop,
   counting failures and partial answers (row count or version mix other than one version).

The hand paths read the version the way a user with the store's files would: Lance's own
scan of the data, with Lance's default read-ahead, and no content check (embver re-hashes
every segment as it streams). Sides alternate, hand first, ``--rounds`` times; each side's
fastest round counts, and its highest peak.

Peak memory: the growth of the child's resident memory (VmHWM, reset through
``/proc/self/clear_refs`` once imports and the store are open) — what the work itself
added, allocations of Lance's Rust code included — beside the budget of issue 14:
2 × one batch (its Arrow bytes: vectors, ids, the hash and label columns) + the version's
ids (an Arrow string array). ``first batch`` is the same growth measured once the first
batch was written: libraries' first-use allocations plus one batch; what the stream adds
after it is ``peak - first batch``. Resident memory counts what Lance's reader holds (it
reads whole pages, ~30 MB each as the store writes them, a few ahead) and what glibc's
arenas keep after a free. What the code itself holds is measured apart, in one untimed
round per side traced by tracemalloc (Python objects and numpy arrays) plus pyarrow's
pool maximum (Arrow buffers); neither sees Lance's or the engines' native allocations.

    python benchmarks/bench_publish.py [--n 1000000] [--small] [--batch 10000] [--rounds 2]
                                       [--allocator glibc|returning] [--keep]

The work folder (the store, the indexes, the pgserver data: ~15 GB at 1M) is removed at exit
unless ``--keep``.

Goals (issue 14): ≤ 1.2× the bulk path's time; peak memory ≤ 2× one batch plus the ids;
the reader loop sees 0 failures and 0 partial results.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

DIM = 384
SPACE = "bench"
#: the child's answer is the last stdout line, after this marker
MARK = "BENCH-RESULT "
#: glibc malloc settings of the children: ``glibc`` its defaults (Lance's threads grow
#: arenas that keep freed memory: resident memory overstates what is held), ``returning``
#: large blocks mmapped and freed memory trimmed, so resident memory tracks what is held
ALLOCATORS: dict[str, dict[str, str]] = {
    "glibc": {},
    "returning": {
        "MALLOC_ARENA_MAX": "2",
        "MALLOC_MMAP_THRESHOLD_": str(1 << 20),
        "MALLOC_TRIM_THRESHOLD_": str(1 << 20),
    },
}
ALLOCATOR = ["glibc"]


# ---------------------------------------------------------------- measuring, in the child


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Meter:
    """Seconds and peak resident growth (MiB) of the work that follows its creation."""

    def __init__(self, trace: bool = False) -> None:
        with contextlib.suppress(OSError):  # reset VmHWM to the current RSS
            Path("/proc/self/clear_refs").write_text("5")
        self.base = _status_kib("VmRSS")
        self.first_batch: float | None = None
        self.trace = trace
        if trace:  # slows Python allocations: a traced round is not timed against the hand path
            import tracemalloc

            tracemalloc.start()
        self.started = time.perf_counter()

    def growth(self) -> float:
        return max(_status_kib("VmHWM") - self.base, 0) / 1024

    def batch_done(self, rows: int) -> None:
        if self.first_batch is None:
            self.first_batch = self.growth()

    def result(self) -> dict[str, Any]:
        import pyarrow as pa

        found = {
            "seconds": time.perf_counter() - self.started,
            "peak_mib": self.growth(),
            "first_batch_mib": self.first_batch,
            "arrow_pool_max_mib": pa.default_memory_pool().max_memory() / 2**20,
        }
        if self.trace:
            import tracemalloc

            found["traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        return found


def hand_batches(version: Any, batch: int) -> Iterator[Any]:
    """The rows a user writes by hand: Lance's own scan of the version's data (defaults,
    no content check), each row's blake3, the embver columns."""
    import lance
    import pyarrow as pa

    from embver.index.base import batch_vectors, row_hashes, row_schema

    schema = row_schema(DIM)
    label = str(version.number)
    for part in lance.dataset(version.data_uri).to_batches(batch_size=batch):
        n = len(part)
        yield pa.RecordBatch.from_arrays(
            [
                part.column("id"),
                part.column("vector").cast(schema.field("vector").type),
                pa.array([version.space] * n, pa.string()),
                pa.array([label] * n, pa.string()),
                pa.array(row_hashes(batch_vectors(part)), pa.string()),
            ],
            schema=schema,
        )


def pg_by_hand(libpq: str, version: Any, batch: int, table: str, meter: Meter) -> None:
    import psycopg

    from embver.index.pgvector import encode_copy

    columns = ["id", "vector", "embver_space", "embver_version", "embver_content_hash"]
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {table} (id text PRIMARY KEY, vector vector({DIM}), embver_space text, "
            "embver_version text, embver_content_hash text)"
        )
        copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        for rows in hand_batches(version, batch):
            with conn.cursor() as cur, cur.copy(copy_sql) as copy:
                copy.write(encode_copy(rows, columns))
            meter.batch_done(len(rows))


def lance_by_hand(folder: str, version: Any, batch: int, meter: Meter) -> None:
    import lancedb

    db = lancedb.connect(folder)
    table = None
    for rows in hand_batches(version, batch):
        if table is None:
            table = db.create_table("hand", data=rows)
        else:
            table.add(rows)
        meter.batch_done(len(rows))


def faiss_by_hand(folder: str, version: Any, meter: Meter) -> None:
    import faiss
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from embver.index.base import row_hashes

    vectors = version.vectors()
    ids, hashes = version.ids, row_hashes(vectors)
    meter.batch_done(len(ids))
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
    faiss.normalize_L2(vectors)
    index.add_with_ids(vectors, np.arange(len(ids), dtype=np.int64))
    faiss.write_index(index, str(Path(folder) / "hand.faiss"))
    pq.write_table(pa.table({"key": np.arange(len(ids)), "id": ids, "hash": hashes}),
                   Path(folder) / "hand.ids.parquet")  # fmt: skip


def _warm_up(args: argparse.Namespace, version: Any) -> None:
    """What both sides pay once per process before the meter starts: imports, Lance's runtime
    (its thread pools, reading one row of the version), a first connection or table in the
    engine. Measured, these cost ~170 MiB of resident memory whatever N is."""
    import lance
    import pyarrow as pa

    import embver.index.rows  # noqa: F401
    from embver.index.base import target_class

    schemes = {"lance": "lancedb", "faiss": "faiss"}
    scheme = schemes.get(args.child.split("-")[0], "postgresql+psycopg")
    target_class(scheme)
    lance.dataset(version.data_uri).to_table(limit=1)
    if scheme == "lancedb":
        import lancedb

        warm = Path(tempfile.mkdtemp(prefix="warm-", dir=Path(args.project).parent))
        lancedb.connect(str(warm)).create_table("warm", data=pa.table({"x": [1]}))
    elif scheme == "faiss":
        import faiss  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    else:
        import psycopg

        from embver.index.base import IndexURL
        from embver.index.pgvector import libpq_uri

        uri = args.libpq or libpq_uri(IndexURL.parse(args.target))
        with psycopg.connect(uri) as conn:
            conn.execute("SELECT 1")


def child(args: argparse.Namespace) -> None:
    """Run one side (``--child SIDE``) and print its figures as JSON."""
    import embver
    from embver.index import migrate_index, publish_version

    store = embver.open(args.project)
    version = store.get(args.ref)
    _warm_up(args, version)
    meter = Meter(trace=args.trace)
    if args.child == "pg-hand":
        pg_by_hand(args.libpq, version, args.batch, args.table, meter)
    elif args.child == "lance-hand":
        lance_by_hand(args.target, version, args.batch, meter)
    elif args.child == "faiss-hand":
        faiss_by_hand(args.target, version, meter)
    elif args.child == "migrate":
        migrate_index(store, args.target, version, batch=args.batch, progress=meter.batch_done)
    else:
        publish_version(store, version, args.target, batch=args.batch, progress=meter.batch_done)
    result = meter.result()
    store.close()
    print(MARK + json.dumps(result), flush=True)


# ---------------------------------------------------------------- the parent


def run_side(label: str, side: str, project: Path, ref: str, batch: int, **extra: str) -> dict:
    # ``extra``: the child's hidden options (target, libpq, table; trace="1" for --trace)
    """Run ``side`` in a child process; print and return its figures."""
    argv = [sys.executable, __file__, "--child", side, "--project", str(project), "--ref", ref,
            "--batch", str(batch)]  # fmt: skip
    for key, value in extra.items():
        argv += ["--trace"] if key == "trace" else [f"--{key}", value]
    env = {**os.environ, **ALLOCATORS[ALLOCATOR[0]]}
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{label}: the child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    found = json.loads(lines[-1][len(MARK) :])
    first = found["first_batch_mib"]
    traced = found.get("traced_peak_mib")
    print(
        f"  {label:<30} {found['seconds']:8.2f} s   peak +{found['peak_mib']:7.1f} MiB"
        f"   first batch +{first if first is not None else float('nan'):6.1f} MiB"
        f"   arrow pool max {found['arrow_pool_max_mib']:6.1f} MiB"
        + (f"   tracemalloc peak {traced:6.1f} MiB" if traced is not None else ""),
        flush=True,
    )
    return found


def make_store(root: Path, n: int) -> tuple[Any, Any, Any]:
    import numpy as np

    import embver

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    ids = [f"doc-{i:08d}" for i in range(n)]
    store = embver.init(root)
    recipe = embver.Recipe(architecture="bench", extraction="mean", weights="w1", dim=DIM)
    v1 = store.space(SPACE).register(vectors, ids=ids, recipe=recipe)
    other = embver.Recipe(architecture="bench", extraction="cls", weights="w1", dim=DIM)
    v2 = store.space(SPACE).register(rng.permutation(vectors), ids=ids, recipe=other, parent=v1)
    return store, v1, v2


def budget_bytes(version: Any, batch: int) -> tuple[int, int]:
    """(one batch, the version's ids) in bytes, from the batch size, the dim and the ids:
    a batch's Arrow columns (vectors 4·dim, id bytes + 4-byte offset, the 64-char hash,
    space and version labels, each + a 4-byte offset) and the ids as an Arrow string array."""
    ids = version.ids
    id_bytes = sum(len(i.encode()) for i in ids) / len(ids)
    labels = (len(SPACE) + 4) + (len(str(version.number)) + 4)
    per_row = 4 * DIM + (id_bytes + 4) + (64 + 4) + labels
    return int(min(batch, len(ids)) * per_row), int(len(ids) * (id_bytes + 4))


def compare(
    name: str, hand: Callable[[int], dict], ours: Callable[[int], dict], rounds: int
) -> dict[str, float]:
    """Alternate hand and embver ``rounds`` times: best time, highest peak of each."""
    hands, mine = [], []
    for round_ in range(1, rounds + 1):
        hands.append(hand(round_))
        mine.append(ours(round_))
    best_hand = min(r["seconds"] for r in hands)
    best_ours = min(r["seconds"] for r in mine)
    return {
        "ratio": best_ours / best_hand,
        "ours_s": best_ours,
        "hand_s": best_hand,
        "ours_peak": max(r["peak_mib"] for r in mine),
        "hand_peak": max(r["peak_mib"] for r in hands),
        "ours_first": max(r["first_batch_mib"] or 0.0 for r in mine),
    }


def reader_loop(url: str, n: int, stop: threading.Event, tally: dict[str, int]) -> None:
    """Query the reader view until ``stop``: count answers, failures, partial answers."""
    import psycopg

    from embver.index.base import IndexURL
    from embver.index.pgvector import libpq_uri

    conn = psycopg.connect(libpq_uri(IndexURL.parse(url)), autocommit=True)
    while not stop.is_set():
        try:
            rows, versions = conn.execute(
                "SELECT count(*), count(DISTINCT embver_version) FROM bench1"
            ).fetchone()
            tally["answers"] += 1
            if rows != n or versions != 1:
                tally["partial"] += 1
        except psycopg.Error:
            tally["failures"] += 1
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--small", action="store_true", help="100k rows")
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="hand/embver alternations")
    parser.add_argument("--keep", action="store_true", help="keep the work folder at exit")
    parser.add_argument("--allocator", choices=sorted(ALLOCATORS), default="glibc",
                        help="glibc malloc settings of the children (see ALLOCATORS)")  # fmt: skip
    for hidden in ("child", "project", "ref", "target", "libpq", "table"):
        parser.add_argument(f"--{hidden}", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    n = 100_000 if args.small else args.n
    ALLOCATOR[0] = args.allocator
    import pgserver

    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    if not args.keep:  # registered before pgserver's own exit hook, so it runs after it
        atexit.register(shutil.rmtree, work, ignore_errors=True)
    print(f"{n} × {DIM}, batch {args.batch}, allocator {args.allocator}, in {work}; "
          f"load {os.getloadavg()}", flush=True)  # fmt: skip
    store, v1, v2 = make_store(work / "project", n)
    project = work / "project"
    one_batch, ids_bytes = budget_bytes(v1, args.batch)
    budget_mib = (2 * one_batch + ids_bytes) / 2**20
    print(f"budget 2 × one batch + ids = 2 × {one_batch / 2**20:.1f} + {ids_bytes / 2**20:.1f} "
          f"= {budget_mib:.1f} MiB")  # fmt: skip
    store.close()
    server = pgserver.get_server(work / "pg", cleanup_mode="delete")
    libpq = server.get_uri()
    from urllib.parse import urlsplit

    parts = urlsplit(libpq)
    pg_url = f"postgresql+psycopg://{parts.netloc}{parts.path}?{parts.query}&table=bench1"
    with contextlib.closing(__import__("psycopg").connect(libpq, autocommit=True)) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    side = run_side
    results: dict[str, dict[str, float]] = {}

    print("pgvector")
    results["pgvector"] = compare(
        "pgvector",
        lambda r: side(f"binary COPY by hand #{r}", "pg-hand", project, v1.ref, args.batch,
                       libpq=libpq, table=f"hand{r}"),
        lambda r: side(f"embver publish #{r}", "pg-embver", project, v1.ref, args.batch,
                       target=pg_url.replace("table=bench1", f"table=bench{r}")),
        args.rounds,
    )  # fmt: skip

    print("lancedb")
    results["lancedb"] = compare(
        "lancedb",
        lambda r: side(f"table.add by hand #{r}", "lance-hand", project, v1.ref, args.batch,
                       target=str(work / f"hand-lance-{r}")),
        lambda r: side(f"embver publish #{r}", "lance-embver", project, v1.ref, args.batch,
                       target=f"lancedb://{work / f'lance-{r}'}/bench"),
        args.rounds,
    )  # fmt: skip

    print("faiss (a flat index is in memory whole: no memory budget)")
    results["faiss"] = compare(
        "faiss",
        lambda r: side(f"IndexIDMap2 + parquet by hand #{r}", "faiss-hand", project, v1.ref,
                       args.batch, target=str(_folder(work / f"hand-faiss-{r}"))),
        lambda r: side(f"embver publish #{r}", "faiss-embver", project, v1.ref, args.batch,
                       target=f"faiss://{work / f'faiss-{r}'}/bench"),
        1,
    )  # fmt: skip

    print("what the code holds (tracemalloc peak: Python and numpy; + pyarrow's pool max),")
    print("one traced round per side, not timed (tracing slows Python allocations)")
    held: dict[str, float] = {}
    for label, name, extra in (
        ("pgvector by hand", "pg-hand", {"libpq": libpq, "table": "traced_hand"}),
        ("pgvector embver", "pg-embver", {"target": pg_url.replace("bench1", "traced")}),
        ("lancedb by hand", "lance-hand", {"target": str(work / "traced-hand-lance")}),
        ("lancedb embver", "lance-embver", {"target": f"lancedb://{work / 'traced'}/bench"}),
    ):
        got = side(f"{label} (traced)", name, project, v1.ref, args.batch, trace="1", **extra)
        held[label] = got["traced_peak_mib"] + got["arrow_pool_max_mib"]

    print("breaking migration of pgvector with a reader loop")
    tally = {"answers": 0, "failures": 0, "partial": 0}
    stop = threading.Event()
    reader = threading.Thread(target=reader_loop, args=(pg_url, n, stop, tally))
    reader.start()
    try:
        migration = side("embver migrate (shadow+swap)", "migrate", project, v2.ref, args.batch,
                         target=pg_url)  # fmt: skip
    finally:
        stop.set()
        reader.join()

    print(f"\nsummary ({n} × {DIM}, batch {args.batch}; load {os.getloadavg()}; "
          "time ratio = embver / by hand, goal ≤ 1.2; peak goal ≤ budget)")  # fmt: skip
    for name, got in results.items():
        verdict = "" if name == "faiss" else (
            f"  {'within' if got['ours_peak'] <= budget_mib else 'OVER'} budget {budget_mib:.0f}"
        )  # fmt: skip
        print(f"  {name:<9} time {got['ratio']:5.2f}× ({got['ours_s']:.1f} s vs "
              f"{got['hand_s']:.1f} s)   peak embver +{got['ours_peak']:.0f} MiB (first batch "
              f"+{got['ours_first']:.0f}), by hand +{got['hand_peak']:.0f} MiB"
              f"{verdict}")  # fmt: skip
    for label, mib in held.items():
        print(f"  held by {label:<17} {mib:6.1f} MiB  "
              f"({'within' if mib <= budget_mib else 'OVER'} budget {budget_mib:.0f})")  # fmt: skip
    print(f"  migration {migration['seconds']:.1f} s, peak +{migration['peak_mib']:.0f} MiB; "
          f"reader loop: {tally['answers']} answers, {tally['failures']} failures, "
          f"{tally['partial']} partial")  # fmt: skip


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    main()
