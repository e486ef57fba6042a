"""embver.integrations.wandb in offline mode: the run's files hold what was logged."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

import embver
from embver.integrations import wandb as tracking

wandb = pytest.importorskip("wandb")


def _records(path: Path):
    """The protobuf records of an offline run's ``.wandb`` file (LevelDB log blocks of 32 KiB,
    each chunk a 7-byte header: crc, length, type FULL=1 FIRST=2 MIDDLE=3 LAST=4)."""
    from wandb.proto import wandb_internal_pb2

    data, position, pending = path.read_bytes(), 7, b""
    assert data[:4] == b":W&B"
    while position + 7 <= len(data):
        left = 32768 - position % 32768
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        if left < 7 or (length == 0 and kind == 0):
            position += left
            continue
        chunk = data[position + 7 : position + 7 + length]
        position += 7 + length
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record


def _logged(run_dir: Path) -> tuple[dict, dict, set[str], set[str]]:
    """Config, summary, tags and saved file paths as the offline run recorded them."""
    (path,) = run_dir.parent.glob("run-*.wandb")
    config, summary, tags, files = {}, {}, set(), set()
    for record in _records(path):
        kind = record.WhichOneof("record_type")
        if kind == "config":
            config.update({u.key: json.loads(u.value_json) for u in record.config.update})
        elif kind == "summary":
            summary.update({u.key: json.loads(u.value_json) for u in record.summary.update})
        elif kind == "run":
            tags |= set(record.run.tags)
        elif kind == "files":
            files |= {f.path for f in record.files.files}
    return config, summary, tags, files


@pytest.fixture
def offline(tmp_path, monkeypatch):
    for name, value in {"WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path),
                        "WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    return tmp_path


def test_a_version_and_a_comparison_land_in_the_offline_runs_files(offline, tracked):
    store, v1, v2, _ = tracked
    evaluation = store.evaluate(v2, "knn-accuracy")
    comparison = store.compare(v1, v2, k=10, clusters=False, migration=False)
    run = wandb.init(project="embver-test", dir=str(offline))
    tracking.log_version(v2)
    tracking.log_comparison(comparison)
    files = Path(run.dir)
    run.finish()
    config, summary, tags, saved = _logged(files)
    name = "embver.eval.knn-accuracy.knn-accuracy"
    assert summary[name] == pytest.approx(evaluation.headline.value)
    assert summary[f"{name}.chance"] == pytest.approx(evaluation.headline.chance)
    overlap = comparison.neighbourhood["10"]["overlap"]["mean"]
    assert summary["embver.compare.k-NN_overlap_k_10_mean"] == pytest.approx(overlap)
    assert config["embver.ref"] == "pets@1.0.1" and config["embver.recipe.weights"] == "w2"
    assert config["embver.compare.new"] == "pets@1.0.1"
    assert "pets@1.0.1" in tags
    report = "embver/embver-report-pets@1.0.0-pets@1.0.1.html"
    assert report in saved
    assert "pets@1.0.0 → pets@1.0.1" in (files / report).read_text(encoding="utf-8")


def test_without_a_run_the_call_is_refused_naming_the_fix(offline, tracked):
    assert wandb.run is None
    with pytest.raises(embver.InvalidInputError, match=r"wandb\.init"):
        tracking.log_version(tracked[2])
