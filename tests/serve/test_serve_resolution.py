"""A reference resolved once is kept while the catalog does not change: repeated requests
run no catalog query, and an alias moved by another process is seen by the next request."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import sqlalchemy as sa


@contextmanager
def counted_statements(engine):
    """A list that grows by one for every SQL statement ``engine`` executes meanwhile."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_repeated_requests_query_nothing_and_a_moved_alias_is_seen_next(
    served, client, news_root, bbc, encoded
):
    _, _, store = served
    text = [bbc.text[3]]
    first = client.embeddings.create(model="news@production", input=text)
    assert first.model == "news@1.0.0"
    with counted_statements(store.engine) as statements:
        for _ in range(3):
            again = client.embeddings.create(model="news@production", input=text)
            assert again.model == "news@1.0.0"
    assert statements == [], f"{len(statements)} catalog statements for resolved references"

    cli = [sys.executable, "-m", "embver.cli", "--store", str(news_root)]
    try:
        moved = subprocess.run(
            [*cli, "alias", "set", "news", "production", "1.1.0", "--reason", "another process"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert moved.returncode == 0, moved.stderr
        with counted_statements(store.engine) as statements:
            after = client.embeddings.create(model="news@production", input=text)
        assert after.model == "news@1.1.0"
        assert statements, "the moved alias was answered without resolving it again"
        got = np.array(after.data[0].embedding, np.float32)
        np.testing.assert_allclose(got, encoded["news@1.1.0"][3], atol=1e-5)
    finally:
        store.set_alias("news", "production", "1.0.0", reason="serve test: back")
    back = client.embeddings.create(model="news@production", input=text)
    assert back.model == "news@1.0.0"
