"""Every Target method of the LanceDB, Qdrant, Chroma and Milvus backends on real engines
(200 rows x 16), with what readers see checked through each engine's own client
(``backend_<scheme>.py``), and the switch under a concurrent reader."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from backends import BACKENDS, BackendCase

from embver.errors import IndexTargetError
from embver.index.base import open_target, physical_name, row_hashes, row_schema

SCHEMES = ["lancedb", "qdrant", "chroma", "milvus"]
ROWS, DIM = 200, 16
IDS = [f"item-{i:04d}" for i in range(ROWS)]


def vectors(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(ROWS, DIM)).astype(np.float32)


def rows(ids: list[str], vecs: np.ndarray, version: str, text: bool = True) -> pa.RecordBatch:
    """A batch of :func:`row_schema` (with a ``text`` field when ``text``)."""
    columns = [
        pa.array(ids, pa.string()),
        pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1), pa.float32()), DIM),
        pa.array(["docs-space"] * len(ids)),
        pa.array([version] * len(ids)),
        pa.array(row_hashes(vecs)),
    ]
    if text:
        columns.append(pa.array([f"text of {i}" if n % 7 else None for n, i in enumerate(ids)]))
    return pa.RecordBatch.from_arrays(columns, schema=row_schema(DIM, ["text"] if text else []))


def publish(target, table: str, vecs: np.ndarray, version: str, batch: int = 64) -> None:
    target.create(table, DIM, ["text"])
    for start in range(0, ROWS, batch):
        target.upsert(table, rows(IDS[start : start + batch], vecs[start : start + batch], version))


def exact_neighbours(vecs: np.ndarray, query: np.ndarray, k: int) -> list[str]:
    """Cosine top-k by brute force, the oracle for every engine's search."""
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    return [IDS[i] for i in np.argsort(-scores)[:k]]


@pytest.fixture(params=SCHEMES)
def case(request, tmp_path: Path):
    made: BackendCase = BACKENDS[request.param](tmp_path)
    yield made
    made.close()


def test_every_method_with_the_readers_view_through_the_engines_client(case):
    first, second = vectors(1), vectors(2)
    t1, t2 = physical_name(case.url.rsplit("/", 1)[1], 1), None
    with open_target(case.url) as target:
        assert (target.foreign(), target.reader_table(), target.tables()) == (None, None, [])
        assert target.next_table() == t1 and target.dimension(t1) is None
        publish(target, t1, first, "1.0.0")
        target.create(t1, DIM, ["text"])  # the same schema again: nothing happens
        with pytest.raises(IndexTargetError, match="dimension 16, the version has 8"):
            target.create(t1, 8, ["text"])
        target.upsert(t1, rows(IDS[:64], first[:64], "1.0.0"))  # idempotent
        assert (target.count(t1), target.dimension(t1), target.reader_table()) == (ROWS, DIM, None)
        assert case.reader_ids() == set()  # nothing switched yet: readers see nothing

        target.switch(t1)
        assert target.reader_table() == t1 and target.tables() == [t1]
        assert case.reader_ids() == set(IDS) and case.reader_versions() == {"1.0.0": ROWS}
        for i in (0, 57, 199):
            expected = exact_neighbours(first, first[i], 5)
            assert case.reader_search(first[i], 5) == expected
            assert target.search(None, first[i], 5) == expected
            assert target.search(t1, first[i], 5) == expected

        scanned = list(target.scan(t1, ["id", "vector", "embver_content_hash", "text"], 64))
        assert all(b.num_rows <= 64 for b in scanned)
        table = pa.Table.from_batches(scanned)
        order = np.argsort(table.column("id").to_pylist())
        got = np.asarray(table.column("vector").to_pylist(), dtype=np.float32)[order]
        if case.scheme in ("qdrant", "chroma"):  # normalised and scaled back; Chroma: an ulp
            np.testing.assert_allclose(got, first, rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(got, first)
        assert np.asarray(table.column("embver_content_hash"))[order].tolist() == row_hashes(first)
        texts = dict(
            zip(table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True)
        )
        assert texts["item-0000"] is None and texts["item-0001"] == "text of item-0001"

        target.delete(t1, IDS[:10])  # the table readers see: they see it at once
        assert target.count(t1) == ROWS - 10 and case.reader_ids() == set(IDS[10:])
        target.upsert(t1, rows(IDS[:10], first[:10], "1.0.0"))
        assert case.reader_ids() == set(IDS)

        t2 = target.next_table()
        assert t2 == physical_name(target.reader, 2)
        publish(target, t2, second, "2.0.0")
        assert case.reader_versions() == {"1.0.0": ROWS}  # a shadow table is invisible
        target.switch(t2)
        assert case.reader_versions() == {"2.0.0": ROWS} and target.tables() == [t1, t2]
        assert case.reader_search(second[3], 5) == exact_neighbours(second, second[3], 5)
        assert target.count(t1) == ROWS and target.search(t1, first[3], 1) == [IDS[3]]
        with pytest.raises(IndexTargetError, match="readers see"):
            target.drop(t2)

        target.switch(t1)  # a rollback
        assert case.reader_versions() == {"1.0.0": ROWS} and target.reader_table() == t1
        target.drop(t2)
        assert target.tables() == [t1] and target.count(t2) == 0
        assert case.reader_versions() == {"1.0.0": ROWS}


def test_a_reader_name_made_by_something_else_is_foreign(case, tmp_path):
    made_by_hand = {
        "lancedb": _foreign_lancedb,
        "qdrant": _foreign_qdrant,
        "chroma": _foreign_chroma,
        "milvus": _foreign_milvus,
    }[case.scheme]
    made_by_hand(case)
    with open_target(case.url) as target:
        reason = target.foreign()
        assert reason is not None and "\n" not in reason and case.url.rsplit("/", 1)[1] in reason


def _foreign_lancedb(case) -> None:
    import lancedb

    lancedb.connect(str(case.folder)).create_table(case.name, pa.table({"x": [1, 2]}))


def _foreign_qdrant(case) -> None:
    from qdrant_client import models

    with case.client() as client:
        client.create_collection(
            case.name, vectors_config=models.VectorParams(size=4, distance="Cosine")
        )


def _foreign_chroma(case) -> None:
    import chromadb

    chromadb.PersistentClient(path=str(case.folder)).create_collection(case.name)


def _foreign_milvus(case) -> None:
    case.client.create_collection(case.name, dimension=4)


@pytest.mark.parametrize(
    "url",
    [
        "qdrant://127.0.0.1:9/docs",
        "milvus://127.0.0.1:9/docs",
        "chroma://127.0.0.1:9/docs",
        "milvus:///no/such/file/docs",
    ],
)
def test_an_unreachable_or_malformed_url_is_one_line(url):
    with pytest.raises(IndexTargetError) as raised, open_target(url) as target:
        target.tables()
    message = str(raised.value)
    assert "\n" not in message and len(message) < 500
    assert url.split("//")[1].split("/")[0] in message or "docs" in message


def test_a_chroma_folder_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    url = f"chroma://{tmp_path}/file/docs"
    with pytest.raises(IndexTargetError) as raised, open_target(url) as target:
        target.tables()
    assert "\n" not in str(raised.value)


def test_the_switch_under_a_reader_loop(case, capsys):
    """A thread reads the reader name in a loop while the readers are switched 2.0 -> 1.0 ->
    2.0 ... ; a read is bad when it fails or is not exactly one whole version."""
    first, second = vectors(1), vectors(2)
    with open_target(case.url) as target:
        t1, t2 = physical_name(target.reader, 1), physical_name(target.reader, 2)
        publish(target, t1, first, "1.0.0", batch=ROWS)
        publish(target, t2, second, "2.0.0", batch=ROWS)
        target.switch(t1)
        bad: list[float] = []
        reads = 0
        done = threading.Event()

        def read_loop() -> None:
            nonlocal reads
            while not done.is_set():
                try:
                    seen = case.reader_versions()
                except Exception:
                    seen = {}
                if seen not in ({"1.0.0": ROWS}, {"2.0.0": ROWS}):
                    bad.append(time.perf_counter())
                reads += 1

        reader = threading.Thread(target=read_loop)
        reader.start()
        started = time.perf_counter()
        for n in range(6):
            target.switch(t2 if n % 2 == 0 else t1)
            time.sleep(0.05)
        switching = time.perf_counter() - started
        done.set()
        reader.join()
    window = (max(bad) - min(bad)) if bad else 0.0
    with capsys.disabled():
        print(
            f"\n{case.scheme}: {reads} reads during 6 switches ({switching:.2f} s): {len(bad)} "
            f"bad, atomic_switch={type(target).atomic_switch}"
        )
    assert reads > 6
    if type(target).atomic_switch:
        assert bad == []
    else:
        assert window < switching  # readers saw no collection only inside the switches
