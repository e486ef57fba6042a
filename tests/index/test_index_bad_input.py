"""Bad input: one-line errors naming the problem and the fix, and the index untouched."""

from __future__ import annotations

import socket

import faiss
import numpy as np
import pytest
from backends import FaissCase, PgvectorCase
from click.testing import CliRunner

from embver.cli import cli
from embver.errors import IndexTargetError, InvalidInputError
from embver.index import index_status, open_target
from embver.index import migrate_index as migrate
from embver.index import publish_version as publish


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _one_line_cli(versions, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--store", str(versions.path), *args])
    assert result.exit_code != 0
    message = str(result.exception) if result.exception else result.output
    assert "\n" not in message.strip()
    return message


def test_an_unreachable_server_is_one_line(versions):
    url = f"postgresql+psycopg://embver@127.0.0.1:{_free_port()}/db?table=docs"
    with pytest.raises(IndexTargetError, match=r"127\.0\.0\.1.*connecting failed"):
        publish(versions.store, versions.v100, url)
    assert "connecting failed" in _one_line_cli(versions, "index", "status", url)


def test_wrong_credentials_are_one_line_and_hide_the_password(versions, tmp_path):
    case = PgvectorCase(tmp_path)
    # pgserver trusts local sockets, so a role that does not exist is what it refuses
    url = case.url.replace("postgres:@", "nobody:secret@")
    with pytest.raises(IndexTargetError) as raised:
        publish(versions.store, versions.v100, url)
    assert "nobody" in str(raised.value) and "secret" not in str(raised.value)
    assert "***" in str(raised.value)
    case.close()


def test_a_table_made_by_someone_else_is_left_alone(versions, tmp_path):
    case = PgvectorCase(tmp_path)
    case.conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    case.conn.execute("CREATE TABLE docs (id text PRIMARY KEY, embedding vector(16))")
    case.conn.execute(
        "INSERT INTO docs VALUES ('a', %s::vector)", ("[" + ",".join(["1"] * 16) + "]",)
    )
    with pytest.raises(IndexTargetError, match="not embver's reader view"):
        publish(versions.store, versions.v100, case.url)
    assert case.conn.execute("SELECT count(*) FROM docs").fetchone()[0] == 1
    with open_target(case.url) as target:
        assert target.tables() == []
    case.close()


def test_a_plain_faiss_file_is_left_alone(versions, tmp_path):
    case = FaissCase(tmp_path)
    case.dir.mkdir(parents=True)
    plain = faiss.IndexFlatIP(16)
    plain.add(np.ones((3, 16), dtype=np.float32))
    faiss.write_index(plain, str(case.dir / "docs.faiss"))
    before = (case.dir / "docs.faiss").read_bytes()
    message = _one_line_cli(versions, "publish", "docs@1.0.0", "--to", case.url)
    assert "not written by embver" in message
    assert sorted(p.name for p in case.dir.iterdir()) == ["docs.faiss"]
    assert (case.dir / "docs.faiss").read_bytes() == before


def test_another_dimension_is_refused_and_the_index_untouched(versions, tmp_path):
    case = FaissCase(tmp_path)
    publish(versions.store, versions.v100, case.url, batch=100)
    with pytest.raises(IndexTargetError, match="--replace"):
        publish(versions.store, versions.v200, case.url)
    with open_target(case.url) as target:
        table = target.reader_table()
        with pytest.raises(IndexTargetError, match="dimension 16, the version has 8"):
            target.create(table, 8, [])
    assert case.reader_versions() == {"1.0.0": 300}
    assert index_status(versions.store, case.url).matches


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("docs", "not an index URL"),
        ("weaviate://localhost/docs", "unknown index scheme"),
        ("faiss:///nowhere/x/", "reader name"),
        ("faiss://host/tmp/docs", "three slashes"),
    ],
)
def test_a_bad_url_names_the_fix(versions, url, match):
    with pytest.raises(IndexTargetError, match=match):
        publish(versions.store, versions.v100, url)


def test_bad_parameters_are_refused_before_anything_is_written(versions, tmp_path):
    case = FaissCase(tmp_path)
    with pytest.raises(InvalidInputError, match="--with colour"):
        publish(versions.store, versions.v100, case.url, with_fields=["colour"])
    with pytest.raises(IndexTargetError, match="nothing is published"):
        migrate(versions.store, case.url, versions.v101)
    with pytest.raises(IndexTargetError, match="no switch to roll back"):
        migrate(versions.store, case.url, None, rollback=True)
    assert not case.dir.exists()
