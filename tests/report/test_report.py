"""The static report: self-contained, binary-packed, readable back."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from embver.cli import cli
from embver.project.api import project
from embver.report.pack import pack_array, quantize_unit, unpack_array


@pytest.fixture(scope="module")
def report_file(bbc_store, tmp_path_factory):
    """The report of news@1.0.0 -> news@1.0.1, written through the CLI."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    root = str(bbc_store.location.root)
    result = CliRunner().invoke(
        cli, ["--store", root, "report", "news@1.0.0", "news@1.0.1", "-o", str(path), "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output), path.read_text(encoding="utf-8")


def _data(html: str) -> dict:
    match = re.search(
        r'<script id="report-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert match
    return json.loads(match.group(1))


def test_report_is_self_contained(report_file):
    _, html = report_file
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert "fetch(" not in html and "XMLHttpRequest" not in html


def test_coordinates_travel_as_binary_not_json_numbers(report_file, bbc_store):
    written, html = report_file
    data = _data(html)
    assert data["n"] == 300 and written["points"] == 300
    xs = unpack_array(data["arrays"]["ax"])
    assert xs.dtype == np.float32 and len(xs) == 300
    projection = project(bbc_store, "news@1.0.0")
    np.testing.assert_array_equal(xs, projection.coords[:, 0])
    assert written["bytes_per_point"] < 1500


def test_report_holds_figures_verdict_movers_and_cluster_flow(report_file):
    _, html = report_file
    data = _data(html)
    names = [f["name"] for f in data["figures"]]
    assert any(n.startswith("k-NN overlap") for n in names)
    overlap = next(f for f in data["figures"] if f["name"].startswith("k-NN overlap"))
    assert overlap["chance"] < 0.1 < overlap["value"]
    assert data["verdict"] is None or data["verdict"]["label"] in ("drop-in", "adapter", "breaking")
    assert len(data["movers"]) > 0 and data["movers"][0]["old_neighbours"]
    assert data["flow"]["rows"] and data["flow"]["ari"] > 0.3
    assert data["displacement"]["median"] < 0.2
    assert all(t == "" or isinstance(t, str) for t in data["texts"])


def test_pack_round_trip_and_quantize():
    values = np.array([0.0, 0.5, 1.0, np.nan])
    packed = quantize_unit(values, np.isnan(values))
    assert packed.tolist() == [0, 125, 250, 255]
    back = unpack_array(pack_array(np.array([1.5, -2.25], dtype=np.float32), "float32"))
    assert back.tolist() == [1.5, -2.25]


def test_cli_reports_size_per_point(report_file):
    written, html = report_file
    assert written["points"] == 300
    assert written["bytes"] == len(html.encode("utf-8"))
    assert written["bytes_per_point"] == pytest.approx(written["bytes"] / 300, abs=0.1)


def test_report_puts_chance_and_noise_floor_beside_cluster_and_migration_figures(report_file):
    _, html = report_file
    data = _data(html)
    flow = data["flow"]
    assert 0 < flow["chance_ari_p95"] < flow["ari"] and flow["n_items"] == 300
    assert 0 <= flow["noise_a"] <= 1 and "labels shuffled" in html
    figures = {f["name"]: f for f in data["figures"]}
    ari = figures["cluster agreement ARI"]
    assert 0 < ari["chance"] < ari["value"] and "noise floor" in ari["note"]
    assert "clusters changed beyond the floor" in figures
    full = [f for name, f in figures.items() if name.endswith("at full index")]
    assert full and all(0 < f["chance"] < 0.1 for f in full)
    migration = [f for name, f in figures.items() if name.endswith("): retention")]
    assert migration and all(f["chance"] == pytest.approx(10 / 59) for f in migration)


def test_report_breaks_the_change_down_by_label_and_shows_recorded_task_figures(
    bbc_store, tmp_path
):
    """Per label: purity in A and B, its change, the chance level and neighbours kept; and
    the task figures of both versions once `embver eval` recorded them, B − A paired."""
    from embver.evaluate.api import evaluate

    for ref in ("news@1.0.0", "news@1.0.1"):
        evaluate(bbc_store, ref, "label-purity")
    path = tmp_path / "report.html"
    root = str(bbc_store.location.root)
    result = CliRunner().invoke(
        cli, ["--store", root, "report", "news@1.0.0", "news@1.0.1", "-o", str(path)]
    )
    assert result.exit_code == 0, result.output
    data = _data(path.read_text(encoding="utf-8"))
    rows = {row["label"]: row for row in data["byLabel"]}
    assert set(rows) == {f"topic-{t}" for t in range(5)}
    assert all(
        row["count"] == 60 and row["chance"] == pytest.approx(59 / 299) for row in rows.values()
    )
    # 1.0.1 is 1.0.0 with a little noise: each topic stays far above chance in both
    assert all(
        row["purity_a"] > 2 * row["chance"] and 0 < row["overlap"] <= 1 for row in rows.values()
    )
    changes = [row["change"] for row in data["byLabel"]]
    assert changes == sorted(changes)  # the label that lost most first
    tasks = {row["name"]: row for row in data["tasks"]}
    purity = tasks["label-purity"]
    assert purity["a"] > purity["chance"] and purity["b"] > purity["chance"]
    assert purity["difference"]["difference"] == pytest.approx(purity["b"] - purity["a"])
