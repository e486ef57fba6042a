"""Store settings are typed: declared in one table, parsed and checked on the way in."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import sqlalchemy as sa

from embver.cli import main
from embver.errors import InvalidInputError
from embver.store import schema
from embver.store.settings import SETTINGS

N, D = 300, 16


def _cli(capsys, store, *args: str) -> tuple[int, str, str]:
    """Run the real ``embver`` entry point on ``store``; exit code, stdout, stderr."""
    capsys.readouterr()
    code = 0
    try:
        main(["--store", str(store.location.root), *args])
    except SystemExit as exit:
        code = int(exit.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *[("true", True), ("True", True), ("1", True), ("yes", True), ("YES", True)],
        *[("false", False), ("False", False), ("0", False), ("no", False), ("No", False)],
    ],
)
def test_cli_boolean_words_mean_what_they_say(store, capsys, text, expected):
    code, out, _ = _cli(capsys, store, "config", "strict", text)
    assert code == 0 and out == f"strict = {str(expected).lower()}\n"
    assert store.setting("strict") is expected
    assert store.settings["strict"] is expected


def test_strict_false_from_the_cli_lets_a_breaking_patch_through(store, recipe, rng, capsys):
    """The issue's case: `embver config strict False` used to turn strict mode on."""
    ids = [f"i{i}" for i in range(N)]
    store.space("s").register(rng.normal(size=(N, D)).astype(np.float32), ids=ids, recipe=recipe)
    assert _cli(capsys, store, "config", "strict", "False")[0] == 0
    unrelated = rng.normal(size=(N, D)).astype(np.float32)
    version = store.space("s").register(unrelated, ids=ids, recipe=replace(recipe, weights="w2"))
    assert version.verdict["label"] == "breaking"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["strict", "maybe"], "setting 'strict' takes a boolean.*not 'maybe'"),
        (["strict", "2"], "setting 'strict' takes a boolean.*not '2'"),
        (["strict", ""], "setting 'strict' takes a boolean"),
        (
            ["strictness", "true"],
            "unknown setting 'strictness'; known settings: eval.default, eval.max_loss, strict",
        ),
        (["strictness"], "unknown setting 'strictness'"),
    ],
)
def test_cli_refuses_unknown_settings_and_bad_values_in_one_line(
    store, store_snapshot, capsys, args, message
):
    import re

    before = store_snapshot(store)
    code, out, err = _cli(capsys, store, "config", *args)
    assert code != 0 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and re.search(message, err), err
    assert store_snapshot(store) == before


@pytest.mark.parametrize("value", ["perhaps", 2, None, 1.0])
def test_api_refuses_bad_values(store, value):
    with pytest.raises(InvalidInputError, match="setting 'strict' takes a boolean"):
        store.set_setting("strict", value)
    assert store.setting("strict") is False


def test_api_refuses_unknown_settings(store):
    with pytest.raises(InvalidInputError, match="unknown setting 'nope'"):
        store.set_setting("nope", True)
    with pytest.raises(InvalidInputError, match="unknown setting 'nope'"):
        store.setting("nope")


def test_config_lists_every_declared_setting_with_its_default(store, capsys):
    store.set_setting("strict", "yes")
    code, out, _ = _cli(capsys, store, "config")
    assert code == 0
    assert out.splitlines()[0].startswith("strict = true  (default false) refuse a PATCH")
    assert len(out.splitlines()) == len(SETTINGS)


def test_a_value_stored_as_text_by_an_older_embver_is_read_by_its_type(store):
    with store.engine.begin() as connection:
        connection.execute(sa.insert(schema.settings).values(key="strict", value="False"))
    assert store.setting("strict") is False
