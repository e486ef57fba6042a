"""A run killed mid-way (SIGKILL, Ctrl-C) registers nothing and resumes from its last batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import embver

WORKER = Path(__file__).with_name("embed_worker.py")


def _start(store, csv, stop_after, marker, mode):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(Path(embver.__file__).parents[1])}
    return subprocess.Popen(
        [
            sys.executable,
            str(WORKER),
            str(store.location.root),
            str(csv),
            str(stop_after),
            str(marker),
            mode,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_for(marker: Path, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(f"worker ended early:\n{process.stdout.read().decode()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("worker did not reach its stop point in time")
        time.sleep(0.1)


@pytest.mark.slow
def test_sigkill_leaves_no_version_and_the_rerun_resumes(store, bbc, minilm, tmp_path):
    data = bbc[:20]  # 5 batches of 4
    csv = tmp_path / "bbc.csv"
    data.to_csv(csv, index=False)
    marker = tmp_path / "stopped"
    worker = _start(store, csv, 3, marker, "hang")
    _wait_for(marker, worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL

    assert "bbc" not in store.space_names()  # nothing half-embedded was registered
    parts = list((store.location.root / "work" / "embed").glob("bbc-*/part-*.npz"))
    assert len(parts) == 3

    resumed = []
    version = store.space("bbc").embed(
        data, model=minilm, batch_size=4, progress=False, on_batch=resumed.append
    )
    assert len(resumed) == 2  # only the two batches the killed run had not committed
    assert version.count == 20 and str(version.number) == "1.0.0"

    fresh = (
        embver.init(tmp_path / "fresh")
        .space("bbc")
        .embed(data, model=minilm, batch_size=4, progress=False)
    )
    assert (
        np.abs(version.vectors(ids=list(data.id)) - fresh.vectors(ids=list(data.id))).max() <= 1e-5
    )


def test_ctrl_c_leaves_no_version_and_the_rerun_resumes(store, bbc, minilm):
    data = bbc[:12]

    def interrupt(count):
        if count == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.space("bbc").embed(
            data, model=minilm, batch_size=4, progress=False, on_batch=interrupt
        )
    assert "bbc" not in store.space_names()
    resumed = []
    version = store.space("bbc").embed(
        data, model=minilm, batch_size=4, progress=False, on_batch=resumed.append
    )
    assert len(resumed) == 1 and version.count == 12


def test_a_torn_checkpoint_file_is_ignored(tmp_path):
    from embver.extract.runner import Checkpoint

    checkpoint = Checkpoint(tmp_path / "work", {"run": 1})
    checkpoint.commit(np.array([0, 1]), np.ones((2, 3), np.float32))
    checkpoint.commit(np.array([2]), np.full((1, 3), 2, np.float32))
    part = sorted((tmp_path / "work").glob("part-*.npz"))[1]
    part.write_bytes(part.read_bytes()[:50])
    vectors, done = checkpoint.load(4)
    assert done.tolist() == [True, True, False, False]
    assert vectors[:2].tolist() == [[1, 1, 1], [1, 1, 1]]
    other = Checkpoint(tmp_path / "work", {"run": 2})  # another run description starts over
    assert not other.load(4)[1].any()
