"""Benchmark of ``embver publish`` and ``embver migrate`` against each backend's own bulk path.

Runs, in one process, on the same N × 384 float32 vectors (default 1M; ``--small``: 100k):

1. pgvector (a ``pgserver`` PostgreSQL): ``publish`` against a binary COPY written by hand
   into a table of the same columns (id, vector, embver_space, embver_version,
   embver_content_hash — the hand path hashes the rows too);
2. FAISS: ``publish`` against ``IndexIDMap2(IndexFlatIP)`` + ``add_with_ids`` +
   ``write_index`` + the id map written to Parquet by hand;
3. LanceDB, when ``embver.index.lancedb`` is present: ``publish`` against
   ``table.add`` of Arrow batches by hand;
4. a breaking migration of the pgvector index (a MINOR version: shadow table, verify,
   view swap) while a reader thread queries the reader view in a loop, counting failures
   and partial answers (row count or version mix other than one complete version).

Peak memory: the growth of resident memory (VmHWM, reset before each part through
``/proc/self/clear_refs``) beside the size of one batch plus the version's ids.

    python benchmarks/bench_publish.py [--n 1000000] [--small] [--batch 10000]

Goals (issue 14): ≤ 1.2× the bulk path's time; peak memory ≤ 2× one batch plus the ids;
the reader loop sees 0 failures and 0 partial results.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DIM = 384


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measured(label: str, run: Callable[[], Any]) -> tuple[float, float]:
    """(seconds, peak resident growth in MiB) of ``run()``."""
    with contextlib.suppress(OSError):  # reset VmHWM to the current RSS
        Path("/proc/self/clear_refs").write_text("5")
    before = _status_kib("VmRSS")
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    growth = max(_status_kib("VmHWM") - before, 0) / 1024
    print(f"  {label:<28} {seconds:8.2f} s   peak +{growth:8.1f} MiB", flush=True)
    return seconds, growth


def make_store(root: Path, n: int) -> Any:
    import numpy as np

    import embver

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    ids = [f"doc-{i:08d}" for i in range(n)]
    store = embver.init(root)
    recipe = embver.Recipe(architecture="bench", extraction="mean", weights="w1", dim=DIM)
    v1 = store.space("bench").register(vectors, ids=ids, recipe=recipe)
    other = embver.Recipe(architecture="bench", extraction="cls", weights="w1", dim=DIM)
    v2 = store.space("bench").register(rng.permutation(vectors), ids=ids, recipe=other, parent=v1)
    return store, v1, v2


def hand_rows(version: Any) -> tuple[Any, list[str], list[str]]:
    """What a user holds before a hand-written bulk load: vectors, ids, row hashes."""
    from embver.index.base import row_hashes

    vectors = version.vectors()
    return vectors, version.ids, row_hashes(vectors)


def pg_by_hand(uri: str, version: Any, batch: int, table: str) -> None:
    import psycopg

    from embver.index.pgvector import encode_copy
    from embver.index.rows import version_batches

    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(
            f"CREATE TABLE {table} (id text PRIMARY KEY, vector vector({DIM}), embver_space text, "
            "embver_version text, embver_content_hash text)"
        )
        columns = ["id", "vector", "embver_space", "embver_version", "embver_content_hash"]
        for rows in version_batches(version.store, version, batch, ()):
            with (
                conn.cursor() as cur,
                cur.copy(
                    f"COPY {table} (id, vector, embver_space, embver_version, embver_content_hash) "
                    "FROM STDIN (FORMAT BINARY)"
                ) as copy,
            ):
                copy.write(encode_copy(rows, columns))


def faiss_by_hand(folder: Path, version: Any) -> None:
    import faiss
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    vectors, ids, hashes = hand_rows(version)
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
    faiss.normalize_L2(vectors)
    index.add_with_ids(vectors, np.arange(len(ids), dtype=np.int64))
    faiss.write_index(index, str(folder / "hand.faiss"))
    pq.write_table(pa.table({"key": np.arange(len(ids)), "id": ids, "hash": hashes}),
                   folder / "hand.ids.parquet")  # fmt: skip


def lance_by_hand(folder: Path, version: Any, batch: int) -> None:
    import lancedb

    from embver.index.rows import version_batches

    db = lancedb.connect(str(folder / "hand-lance"))
    table = None
    for rows in version_batches(version.store, version, batch, ()):
        if table is None:
            table = db.create_table("hand", data=rows)
        else:
            table.add(rows)


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
    args = parser.parse_args()
    n = 100_000 if args.small else args.n
    import pgserver

    from embver.index import base, migrate_index, publish_version

    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    print(f"{n} × {DIM}, batch {args.batch}, in {work}", flush=True)
    store, v1, v2 = make_store(work / "project", n)
    one_batch_mib = (args.batch * DIM * 4 + n * 24) / 2**20
    print(
        f"one batch + ids ≈ {one_batch_mib:.1f} MiB "
        f"(vectors {args.batch}×{DIM}×4 B, ids ~24 B each)"
    )
    server = pgserver.get_server(work / "pg", cleanup_mode="delete")
    uri = server.get_uri()
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    pg_url = f"postgresql+psycopg://{parts.netloc}{parts.path}?{parts.query}&table=bench1"
    results: dict[str, tuple[float, float, float]] = {}

    print("pgvector")
    # hand, embver, hand, embver: the first runs pay the warm-up; the faster of each counts
    hands, ours_runs = [], []
    for run in (1, 2):
        url = pg_url.replace("table=bench1", f"table=bench{run}")
        by_hand = functools.partial(pg_by_hand, uri, v1, args.batch, f"hand{run}")
        hands.append(measured(f"binary COPY by hand #{run}", by_hand))
        ours_run = functools.partial(publish_version, store, v1, url, batch=args.batch)
        ours_runs.append(measured(f"embver publish #{run}", ours_run))
    hand, ours = min(hands), min(ours_runs)
    results["pgvector"] = (ours[0] / hand[0], ours[1], hand[1])

    print("faiss")
    (work / "faiss").mkdir()
    hand = measured("IndexIDMap2 + parquet by hand", lambda: faiss_by_hand(work / "faiss", v1))
    url = f"faiss://{work / 'faiss'}/bench"
    ours = measured("embver publish", lambda: publish_version(store, v1, url, batch=args.batch))
    results["faiss"] = (ours[0] / hand[0], ours[1], hand[1])

    if "lancedb" in base.BACKEND_MODULES:
        try:
            base.target_class("lancedb")
        except Exception as error:  # engineer B's module not merged yet
            print(f"lancedb: skipped ({error})")
        else:
            print("lancedb")
            hand = measured("table.add by hand", lambda: lance_by_hand(work, v1, args.batch))
            url = f"lancedb://{work / 'lance'}/bench"
            ours = measured(
                "embver publish", lambda: publish_version(store, v1, url, batch=args.batch)
            )
            results["lancedb"] = (ours[0] / hand[0], ours[1], hand[1])

    print("breaking migration of pgvector with a reader loop")
    tally = {"answers": 0, "failures": 0, "partial": 0}
    stop = threading.Event()
    reader = threading.Thread(target=reader_loop, args=(pg_url, n, stop, tally))
    reader.start()
    migration = measured(
        "embver migrate (shadow+swap)", lambda: migrate_index(store, pg_url, v2, batch=args.batch)
    )
    stop.set()
    reader.join()

    print("\nsummary (time ratio = embver / by hand; goal ≤ 1.2)")
    for name, (ratio, ours_mib, hand_mib) in results.items():
        print(f"  {name:<9} time {ratio:5.2f}×   peak embver +{ours_mib:.0f} MiB, by hand "
              f"+{hand_mib:.0f} MiB, one batch + ids {one_batch_mib:.0f} MiB")  # fmt: skip
    print(f"  migration {migration[0]:.1f} s; reader loop: {tally['answers']} answers, "
          f"{tally['failures']} failures, {tally['partial']} partial")  # fmt: skip
    store.close()


if __name__ == "__main__":
    main()
