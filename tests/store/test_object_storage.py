"""Object storage: a store whose data root is ``s3://bucket/prefix`` on a real
S3-compatible server (moto's, over HTTP on 127.0.0.1) registers, reads, appends,
verifies, collects garbage and stores artifacts with no change but the URL.

The server is configured only through the environment variables that
docs/architecture.md ("Object storage") documents; damage is done to the
objects in the bucket, through the server's own API."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import embver
from embver.errors import StoreError
from embver.store import objectstore
from embver.store import vectors as vector_data
from embver.store.maintenance import gc, verify

BUCKET = "embver-test"
DIM = 16
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    client: Any  # a boto3 S3 client, for looking at and damaging objects directly

    def keys(self, prefix: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1 (a free port), with one empty bucket."""
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    access_log = logging.getLogger("werkzeug")  # one line per request: noise in failures
    level = access_log.level
    access_log.setLevel(logging.WARNING)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=BUCKET)
    try:
        yield S3Server(endpoint, client)
    finally:
        server.stop()
        access_log.setLevel(level)


@pytest.fixture
def s3_env(s3_server, monkeypatch) -> S3Server:
    """The environment a user sets to reach the server (nothing inherited leaks in)."""
    for name in (*objectstore.ENDPOINT_VARS, *objectstore.REGION_VARS, "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        **CREDENTIALS,
        "AWS_ENDPOINT_URL": s3_server.endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture
def prefix() -> str:
    """A fresh key prefix per test, so tests share the server but not data."""
    return f"stores/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3_store(s3_env, prefix, tmp_path) -> Iterator[embver.Store]:
    with embver.init(tmp_path, data=f"s3://{BUCKET}/{prefix}") as store:
        yield store


def _vectors(seed: int, rows: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, DIM)).astype(np.float32)


def _ids(first: int, rows: int) -> list[str]:
    return [f"item-{i}" for i in range(first, first + rows)]


def _recipe(architecture: str) -> embver.Recipe:
    return embver.Recipe(architecture=architecture, extraction="mean", weights="w", dim=DIM)


def _key(version, relative: str) -> str:
    """The bucket key of ``relative`` inside ``version``'s dataset."""
    return f"{version.data_uri.removeprefix(f's3://{BUCKET}/')}/{relative}"


def test_vectors_round_trip_through_the_bucket_and_appends_add_a_segment(
    s3_store, s3_env, prefix, tmp_path
):
    space = s3_store.space("s")
    texts = [f"text {i}" for i in range(40)]
    first = space.register(_vectors(1, 40), ids=_ids(0, 40), recipe=_recipe("a"), texts=texts)
    assert first.data_uri.startswith(f"s3://{BUCKET}/{prefix}/spaces/s/versions/")
    np.testing.assert_array_equal(first.vectors(), _vectors(1, 40))

    appended = space.register(_vectors(2, 10), ids=_ids(40, 10), recipe=_recipe("a"))
    assert appended.appended and str(appended.number) == "1.0.0"
    assert appended.count == 50 and len(appended.segments) == 2
    reopened = embver.open(tmp_path).get("s@1.0.0")
    assert reopened.ids == _ids(0, 50)
    np.testing.assert_array_equal(
        reopened.vectors(), np.concatenate([_vectors(1, 40), _vectors(2, 10)])
    )
    np.testing.assert_array_equal(
        reopened.vectors(ids=["item-45", "item-3"]), [_vectors(2, 10)[5], _vectors(1, 40)[3]]
    )
    assert list(s3_store.items("s", ids=["item-7"])["text"]) == ["text 7"]

    # Every recorded file (data files and manifests of both segments) is an object in the
    # bucket; the store folder on disk holds only its config and catalog.
    recorded = {_key(appended, p) for s in appended.segments for p in s.files}
    assert len(recorded) >= 4 and recorded <= set(s3_env.keys(prefix))
    assert sum(key.endswith(".lance") and "/data/" in key for key in recorded) == 2
    assert not (tmp_path / ".embver" / "data").exists()


def test_artifacts_are_objects_under_the_data_root(s3_store, s3_env, prefix):
    s3_store.artifacts.put("projection", "k1", b"\x00payload\xff", {"n": 1})
    assert s3_store.artifacts.get("projection", "k1").payload == b"\x00payload\xff"
    assert any(key.startswith(f"{prefix}/artifacts/projection/") for key in s3_env.keys(prefix))


def test_verify_passes_then_names_the_version_whose_object_was_damaged(s3_store, s3_env, prefix):
    space = s3_store.space("s")
    damaged = space.register(_vectors(1, 30), ids=_ids(0, 30), recipe=_recipe("a"))
    intact = space.register(_vectors(3, 30), ids=_ids(0, 30), recipe=_recipe("b"))
    report = verify(s3_store)
    assert report.ok and report.checked == 2

    data_file = next(p for p in damaged.segments[0].files if p.startswith("data/"))
    key = _key(damaged, data_file)
    payload = bytearray(s3_env.client.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    payload[len(payload) // 2] ^= 0xFF
    s3_env.client.put_object(Bucket=BUCKET, Key=key, Body=bytes(payload))

    problems = verify(s3_store).problems
    assert problems == [
        {"ref": damaged.ref, "problem": f"segment 0: file {data_file} changed (blake3 mismatch)"}
    ]
    assert intact.ref not in {p["ref"] for p in problems}

    s3_env.client.delete_object(Bucket=BUCKET, Key=key)
    assert verify(s3_store).problems == [
        {"ref": damaged.ref, "problem": f"segment 0: file {data_file} is missing"}
    ]


def test_gc_removes_unreferenced_objects_and_keeps_every_version(s3_store, s3_env, prefix):
    space = s3_store.space("s")
    kept = space.register(_vectors(1, 20), ids=_ids(0, 20), recipe=_recipe("a"))
    # What a writer killed before its catalog commit leaves behind: a whole dataset
    # no row references, and a data file appended to a live dataset but never recorded.
    orphan = s3_store.data_path("spaces/s/versions/orphan.lance")
    vector_data.write_dataset(orphan, vector_data.to_table(_ids(0, 5), _vectors(9, 5), "float32"))
    vector_data.write_dataset(
        kept.data_uri, vector_data.to_table(_ids(90, 5), _vectors(8, 5), "float32"), "append"
    )
    before = set(s3_env.keys(prefix))
    stray = set(s3_env.keys(_key(kept, "data/"))) - {_key(kept, p) for p in kept.segments[0].files}
    assert len(stray) == 1

    assert gc(s3_store).removed == []  # all of it is younger than the default grace period
    dry = gc(s3_store, grace_seconds=0, dry_run=True)
    assert set(s3_env.keys(prefix)) == before
    report = gc(s3_store, grace_seconds=0)
    assert report.removed == dry.removed
    assert set(report.removed) == {
        "spaces/s/versions/orphan.lance",
        next(iter(stray)).removeprefix(f"{prefix}/"),
    }

    after = set(s3_env.keys(prefix))
    assert not any("/orphan.lance/" in key for key in after) and not stray & after
    assert verify(s3_store).ok
    np.testing.assert_array_equal(s3_store.get("s@1.0.0").vectors(), _vectors(1, 20))


def test_aws_endpoint_alone_reaches_both_lance_and_pyarrow(s3_env, prefix, tmp_path, monkeypatch):
    """Lance reads ``AWS_ENDPOINT``; pyarrow does not by itself (embver maps it)."""
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT", s3_env.endpoint)
    with embver.init(tmp_path, data=f"s3://{BUCKET}/{prefix}") as store:
        version = store.space("s").register(_vectors(5, 8), ids=_ids(0, 8), recipe=_recipe("a"))
        store.artifacts.put("projection", "k", b"payload", {})
        assert store.artifacts.get("projection", "k").payload == b"payload"
        assert verify(store).ok
        assert set(vector_data.list_files(version.data_uri)) >= set(version.segments[0].files)


@pytest.mark.parametrize("allow_http", [None, "false"])
def test_a_plain_http_endpoint_without_allow_http_is_refused_naming_the_variables(
    s3_env, prefix, tmp_path, monkeypatch, allow_http
):
    if allow_http is None:
        monkeypatch.delenv("AWS_ALLOW_HTTP")
    else:
        monkeypatch.setenv("AWS_ALLOW_HTTP", allow_http)
    with pytest.raises(StoreError, match=r"AWS_ENDPOINT_URL='http://.*AWS_ALLOW_HTTP=true"):
        embver.init(tmp_path, data=f"s3://{BUCKET}/{prefix}")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, {}),
        ({"AWS_REGION": "eu-west-1"}, {"region": "eu-west-1"}),
        (
            {"AWS_ENDPOINT": "http://127.0.0.1:9000/", "AWS_DEFAULT_REGION": "x"},
            {"endpoint_override": "127.0.0.1:9000", "scheme": "http", "region": "x"},
        ),
        (
            {"AWS_ENDPOINT_URL": "minio.example:9000", "AWS_ENDPOINT": "http://ignored"},
            {"endpoint_override": "minio.example:9000", "scheme": "https"},
        ),
        (
            {"AWS_ENDPOINT_URL_S3": "https://s3.example", "AWS_ENDPOINT_URL": "http://other"},
            {"endpoint_override": "s3.example", "scheme": "https"},
        ),
    ],
)
def test_pyarrow_gets_the_endpoint_and_region_that_lance_reads(env, expected):
    assert objectstore.s3_options(env) == expected
