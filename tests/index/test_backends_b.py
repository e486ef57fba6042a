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
        assert target.reader_table() is None and target.tables() == []
        # what import --from reads out of it: ids and vectors under the reader name
        assert target.dimension(target.reader) == 4
        got = pa.Table.from_batches(list(target.scan(target.reader, ["id", "vector"], 10)))
        assert sorted(got.column("id").to_pylist()) == ["1", "2"]
        vecs = dict(
            zip(got.column("id").to_pylist(), got.column("vector").to_pylist(), strict=True)
        )
        np.testing.assert_allclose(vecs["2"], FOREIGN[1], rtol=1e-6)


FOREIGN = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 3.0, 4.0, 0.0]], dtype=np.float32)


def _foreign_lancedb(case) -> None:
    import lancedb

    vector = pa.FixedSizeListArray.from_arrays(pa.array(FOREIGN.reshape(-1)), 4)
    lancedb.connect(str(case.folder)).create_table(
        case.name, pa.table({"id": ["1", "2"], "vector": vector})
    )


def _foreign_qdrant(case) -> None:
    from qdrant_client import models

    with case.client() as client:
        client.create_collection(
            case.name, vectors_config=models.VectorParams(size=4, distance="Euclid")
        )
        points = [models.PointStruct(id=i + 1, vector=v.tolist()) for i, v in enumerate(FOREIGN)]
        client.upsert(case.name, points=points)


def _foreign_chroma(case) -> None:
    import chromadb

    made = chromadb.PersistentClient(path=str(case.folder)).create_collection(
        case.name, embedding_function=None
    )
    made.add(ids=["1", "2"], embeddings=FOREIGN)


def _foreign_milvus(case) -> None:
    with case.client() as client:
        client.create_collection(case.name, dimension=4, id_type="string", max_length=64)
        client.insert(
            case.name, [{"id": str(i + 1), "vector": v.tolist()} for i, v in enumerate(FOREIGN)]
        )


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
    """A thread reads the reader name in a loop while readers are switched back and forth
    between two whole versions; a read is bad when it fails or is not one whole version.

    Atomic backends: no bad read. Chroma (not atomic) is probed with its cheapest read
    (a row count through one long-lived client) to measure what readers see."""
    first, second = vectors(1), vectors(2)
    switches = 6 if type(open_target(case.url)).atomic_switch else 30
    with open_target(case.url) as target:
        t1, t2 = physical_name(target.reader, 1), physical_name(target.reader, 2)
        publish(target, t1, first, "1.0.0", batch=ROWS)
        publish(target, t2, second, "2.0.0", batch=ROWS)
        target.switch(t1)
        bad: list[float] = []
        reads = 0
        done = threading.Event()
        probe = getattr(case, "reader_count", None)

        def whole(seen: object) -> bool:
            if probe is not None:
                return seen == ROWS
            return seen in ({"1.0.0": ROWS}, {"2.0.0": ROWS})

        def read_loop() -> None:
            nonlocal reads
            while not done.is_set():
                try:
                    seen: object = probe() if probe is not None else case.reader_versions()
                except Exception as error:  # what a reader would get: counted, not raised
                    seen = error
                if not whole(seen):
                    bad.append(time.perf_counter())
                reads += 1

        reader = threading.Thread(target=read_loop)
        reader.start()
        started = time.perf_counter()
        for n in range(switches):
            target.switch(t2 if n % 2 == 0 else t1)
            time.sleep(0.02)
            # on a loaded machine the reader may not get the GIL between two switches: wait
            # until it has read what this switch left, so every switch is seen by a read
            before = reads
            deadline = time.monotonic() + 10
            while reads <= before + 1 and time.monotonic() < deadline:
                time.sleep(0.005)
        switching = time.perf_counter() - started
        done.set()
        reader.join()
        assert case.reader_versions() == ({"2.0.0": ROWS} if switches % 2 else {"1.0.0": ROWS})
    with capsys.disabled():
        print(
            f"\n{case.scheme}: atomic_switch={type(target).atomic_switch}, {reads} reads during "
            f"{switches} switches ({switching:.2f} s): {len(bad)} bad, about "
            f"{1000 * switching * len(bad) / reads / switches:.0f} ms without an index per switch"
        )
    assert reads >= 2 * switches
    if type(target).atomic_switch:
        assert bad == []
    else:  # readers saw no collection, never a mix, and only while switches ran
        assert all(started <= t <= started + switching for t in bad)


@pytest.fixture(scope="module")
def s3_bucket():
    """moto's S3 server on 127.0.0.1 (a free port) with one bucket; yields its endpoint."""
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket="indexes")
    try:
        yield endpoint
    finally:
        server.stop()


def test_a_lancedb_index_on_s3_switches_with_readers_on_the_bucket(s3_bucket, monkeypatch):
    import lancedb

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": s3_bucket,
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    uri = "s3://indexes/team/db"
    first, second = vectors(1), vectors(2)
    with open_target(f"lancedb:///docs?uri={uri}") as target:
        publish(target, "docs__embver_1", first, "1.0.0", batch=ROWS)
        target.switch("docs__embver_1")
        publish(target, "docs__embver_2", second, "2.0.0", batch=ROWS)
        reader = lancedb.connect(uri).open_table("docs")
        assert set(reader.to_arrow().column("embver_version").to_pylist()) == {"1.0.0"}
        target.switch("docs__embver_2")
        assert target.tables() == ["docs__embver_1", "docs__embver_2"]
        assert target.count("docs__embver_1") == ROWS
    latest = lancedb.connect(uri).open_table("docs").to_arrow()
    assert latest.column("embver_version").to_pylist() == ["2.0.0"] * ROWS
    assert reader.to_arrow().num_rows == ROWS  # a handle opened before still reads its version
    found = lancedb.connect(uri).open_table("docs").search(second[9]).distance_type("cosine")
    assert found.limit(5).to_arrow().column("id").to_pylist() == exact_neighbours(
        second, second[9], 5
    )
