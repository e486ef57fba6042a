"""Every kind of bad input raises an EmbverError naming the problem; the store is unchanged."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import embver
from embver.errors import (
    BumpConflictError,
    EmbverError,
    ImmutabilityError,
    InvalidInputError,
    NotFoundError,
    RecipeError,
    VersionStringError,
)

N, D = 30, 16
RECIPE = embver.Recipe(architecture="arch-a", extraction="mean", weights="w1", dim=D)
IDS = [f"item-{i}" for i in range(N)]


def _vectors(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(N, D)).astype(np.float32)


def _with_nan():
    x = _vectors()
    x[7, 3] = np.nan
    return x


def _with_inf(sign: float):
    x = _vectors()
    x[2, 0] = sign * np.inf
    return x


def _beyond_float32():
    """float64 vectors with one finite value that float32 cannot hold (row 4, column 5)."""
    x = _vectors().astype(np.float64)
    x[4, 5] = 1e300
    return x


def _register(**kwargs):
    def call(store):
        args = {"vectors": _vectors(1), "ids": IDS, "recipe": replace(RECIPE, weights="w2")}
        args.update(kwargs)
        space = args.pop("space", "stop-signs")
        return store.space(space).register(args.pop("vectors"), **args)

    return call


CASES = {
    "nan": (_register(vectors=_with_nan()), InvalidInputError, "NaN or inf.*item-7"),
    "inf": (_register(vectors=_with_inf(1.0)), InvalidInputError, "NaN or inf.*item-2"),
    "neg-inf": (_register(vectors=_with_inf(-1.0)), InvalidInputError, "NaN or inf"),
    "wrong-dimension": (
        _register(vectors=np.zeros((N, D + 1))),
        InvalidInputError,
        "dimension 17.*dim=16",
    ),
    "ragged-rows": (
        _register(vectors=[[1.0, 2.0]] * (N - 1) + [[1.0]]),
        InvalidInputError,
        "ragged",
    ),
    "string-dtype": (_register(vectors=np.full((N, D), "x")), InvalidInputError, "numeric dtype"),
    "bool-dtype": (
        _register(vectors=np.zeros((N, D), dtype=bool)),
        InvalidInputError,
        "numeric dtype",
    ),
    "object-rows": (_register(vectors=[["a"] * D] * N), InvalidInputError, "numeric"),
    "one-dimensional": (_register(vectors=np.zeros(D)), InvalidInputError, "2-D"),
    "three-dimensional": (_register(vectors=np.zeros((N, D, 2))), InvalidInputError, "2-D"),
    "not-a-sequence": (_register(vectors=42), InvalidInputError, "2-D"),
    "empty-set": (_register(vectors=np.zeros((0, D)), ids=[]), InvalidInputError, "empty"),
    "duplicate-ids": (_register(ids=[*IDS[:-1], IDS[0]]), InvalidInputError, "duplicate.*item-0"),
    "fewer-ids": (_register(ids=IDS[:-1]), InvalidInputError, "29 ids for 30 vectors"),
    "more-ids": (_register(ids=[*IDS, "extra"]), InvalidInputError, "31 ids for 30 vectors"),
    "int-ids": (_register(ids=list(range(N))), InvalidInputError, "ids must be strings.*int"),
    "none-id": (_register(ids=[None, *IDS[1:]]), InvalidInputError, "ids must be strings"),
    "empty-id": (_register(ids=["", *IDS[1:]]), InvalidInputError, "empty string"),
    "ids-as-string": (_register(ids="item-0"), InvalidInputError, "not a single string"),
    "no-ids": (_register(ids=None), InvalidInputError, "ids are required"),
    "space-uppercase": (
        _register(space="Stop-Signs"),
        InvalidInputError,
        "space name 'Stop-Signs'",
    ),
    "space-slash": (_register(space="a/b"), InvalidInputError, "space name 'a/b'"),
    "space-empty": (_register(space=""), InvalidInputError, "space name ''"),
    "space-at": (_register(space="a@b"), InvalidInputError, "space name"),
    "parent-leading-zero": (_register(parent="01.0.0"), VersionStringError, "01.0.0"),
    "parent-four-parts": (_register(parent="1.0.0.0"), VersionStringError, "1.0.0.0"),
    "parent-unknown-alias": (_register(parent="nosuch"), NotFoundError, "alias 'nosuch'"),
    "parent-unknown-version": (_register(parent="9.9.9"), NotFoundError, "9.9.9"),
    "bump-contradicts": (_register(bump="major"), BumpConflictError, "declared bump MAJOR.*PATCH"),
    "bump-unknown": (_register(bump="giant"), InvalidInputError, "bump 'giant'"),
    "recipe-missing": (_register(recipe=None), RecipeError, "recipe is required"),
    "recipe-missing-fields": (_register(recipe={"architecture": "a"}), RecipeError, "missing"),
    "recipe-context-not-mapping": (
        _register(recipe={**RECIPE.identity(), "context": "made on monday"}),
        RecipeError,
        "recipe field 'context' must be a mapping.*str 'made on monday'",
    ),
    "recipe-specs-not-mapping": (
        _register(recipe={**RECIPE.identity(), "specs": ["pooling"]}),
        RecipeError,
        "recipe field 'specs' must be a mapping",
    ),
    "recipe-bad-metric": (
        _register(recipe={**RECIPE.identity(), "metric": "hamming"}),
        RecipeError,
        "metric",
    ),
    "float16-overflow": (
        _register(vectors=_vectors() * 1e6, recipe=replace(RECIPE, dtype="float16")),
        InvalidInputError,
        "float16 range",
    ),
    "float32-overflow": (
        _register(vectors=_beyond_float32()),
        InvalidInputError,
        r"float32 range.*value 1e\+300 at id 'item-4' \(row 4, column 5\)",
    ),
    "float32-overflow-negative": (
        _register(vectors=-_beyond_float32()),
        InvalidInputError,
        r"float32 range.*value -1e\+300",
    ),
    "texts-length": (_register(texts=["t"] * (N - 2)), InvalidInputError, "28 texts for 30 ids"),
    "labels-length": (_register(labels=["l"] * (N + 1)), InvalidInputError, "31 labels"),
    "metadata-not-json": (_register(metadata=[{"x": object()}] * N), InvalidInputError, "JSON"),
    "metadata-length": (_register(metadata=[{}] * 3), InvalidInputError, "3 metadata rows"),
    "immutable-vectors": (
        _register(recipe=RECIPE),
        ImmutabilityError,
        "different vectors.*immutable",
    ),
    "alias-unknown-version": (
        lambda s: s.set_alias("stop-signs", "best", "7.0.0"),
        NotFoundError,
        "7.0.0",
    ),
    "alias-bad-name": (
        lambda s: s.set_alias("stop-signs", "Best", "1.0.0"),
        InvalidInputError,
        "alias name 'Best'",
    ),
    "alias-reserved": (
        lambda s: s.set_alias("stop-signs", "latest", "1.0.0"),
        InvalidInputError,
        "reserved",
    ),
    "alias-rm-unknown": (lambda s: s.remove_alias("stop-signs", "nosuch"), NotFoundError, "nosuch"),
    "get-unknown-alias": (lambda s: s.get("stop-signs@nosuch"), NotFoundError, "alias 'nosuch'"),
    "get-unknown-space": (lambda s: s.get("nosuch@1.0.0"), NotFoundError, "space 'nosuch'"),
    "get-bad-version": (lambda s: s.get("stop-signs@1.0.0.1"), VersionStringError, "1.0.0.1"),
    "vectors-unknown-id": (
        lambda s: s.get("stop-signs@1.0.0").vectors(["nope"]),
        NotFoundError,
        "nope",
    ),
}


@pytest.fixture
def seeded_store(store):
    store.space("stop-signs").register(_vectors(), ids=IDS, recipe=RECIPE, texts=IDS)
    return store


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_and_store_unchanged(seeded_store, store_snapshot, case):
    call, error, message = CASES[case]
    before = store_snapshot(seeded_store)
    with pytest.raises(error, match=message) as info:
        call(seeded_store)
    assert isinstance(info.value, EmbverError)
    assert store_snapshot(seeded_store) == before


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("rows", [[0], [N - 1], [0, N - 1]])
def test_non_finite_first_and_last_rows_are_named_and_nothing_is_written(
    seeded_store, store_snapshot, value, rows
):
    # the rows are checked while Lance writes; the message is the one checked before it
    vectors = _vectors(1)
    vectors[rows, D - 1] = value
    before = store_snapshot(seeded_store)
    with pytest.raises(InvalidInputError) as info:
        _register(vectors=vectors, space="fresh")(seeded_store)
    assert str(info.value) == (
        f"vectors contain NaN or inf in {len(rows)} row(s), first at id 'item-{rows[0]}' "
        f"(row {rows[0]})"
    )
    assert store_snapshot(seeded_store) == before
    assert seeded_store.space_names() == ["stop-signs"]


def test_finite_vectors_whose_sum_overflows_are_registered(seeded_store):
    vectors = np.full((N, D), np.finfo(np.float32).max, dtype=np.float32)
    version = _register(vectors=vectors, space="fresh")(seeded_store)
    assert np.array_equal(version.vectors(), vectors)


def test_bad_input_refused_during_a_write_of_many_batches_leaves_nothing(
    seeded_store, store_snapshot, monkeypatch
):
    from embver.store import vectors as vector_data

    monkeypatch.setattr(vector_data, "_WRITE_BATCH_ROWS", 1)  # the write can stop at any row
    before = store_snapshot(seeded_store)
    with pytest.raises(InvalidInputError, match="duplicate"):
        _register(ids=[*IDS[:-1], IDS[0]], space="fresh")(seeded_store)
    assert store_snapshot(seeded_store) == before


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the real ``embver`` entry point; its exit code, stdout and stderr."""
    from embver.cli import main

    capsys.readouterr()
    code = 0
    try:
        main([str(a) for a in args])
    except SystemExit as exit:
        code = int(exit.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_import_of_float64_beyond_float32_is_refused_in_one_line(
    seeded_store, store_snapshot, tmp_path, capsys
):
    np.save(tmp_path / "big.npy", _beyond_float32())
    (tmp_path / "ids.txt").write_text("\n".join(IDS))
    before = store_snapshot(seeded_store)
    code, _, err = _cli(
        capsys,
        *("--store", seeded_store.location.root, "import", "stop-signs", tmp_path / "big.npy"),
        *("--ids", tmp_path / "ids.txt", "--architecture", "arch-a", "--extraction", "mean"),
        *("--weights", "w9"),
    )
    assert code != 0
    assert err.count("\n") == 1 and err.startswith("error: vectors exceed the float32 range")
    assert "1e+300" in err and "item-4" in err
    assert store_snapshot(seeded_store) == before


#: bad input into a space that does not exist yet: nothing, not even the space, is written
NEW_SPACE_CASES = {
    "nan": _register(space="fresh", vectors=_with_nan()),
    "float32-overflow": _register(space="fresh", vectors=_beyond_float32()),
    "wrong-dimension": _register(space="fresh", vectors=np.zeros((N, D + 1))),
    "duplicate-ids": _register(space="fresh", ids=[*IDS[:-1], IDS[0]]),
    "no-ids": _register(space="fresh", ids=None),
    "recipe-missing": _register(space="fresh", recipe=None),
    "texts-length": _register(space="fresh", texts=["t"] * (N - 2)),
    "metadata-not-json": _register(space="fresh", metadata=[{"x": object()}] * N),
    "bump-contradicts": _register(space="fresh", bump="patch"),
    "parent-unknown": _register(space="fresh", parent="1.0.0"),
}


@pytest.mark.parametrize("case", sorted(NEW_SPACE_CASES))
def test_bad_input_into_a_new_space_writes_nothing(seeded_store, store_snapshot, capsys, case):
    before = store_snapshot(seeded_store)
    with pytest.raises(EmbverError):
        NEW_SPACE_CASES[case](seeded_store)
    assert store_snapshot(seeded_store) == before
    assert seeded_store.space_names() == ["stop-signs"]
    code, out, _ = _cli(capsys, "--store", seeded_store.location.root, "spaces")
    assert code == 0 and "stop-signs" in out and "fresh" not in out


def test_cli_import_refused_into_a_new_space_writes_nothing(
    seeded_store, store_snapshot, tmp_path, capsys
):
    np.save(tmp_path / "big.npy", _beyond_float32())
    (tmp_path / "ids.txt").write_text("\n".join(IDS))
    before = store_snapshot(seeded_store)
    code, _, err = _cli(
        capsys,
        *("--store", seeded_store.location.root, "import", "fresh", tmp_path / "big.npy"),
        *("--ids", tmp_path / "ids.txt", "--architecture", "a", "--extraction", "e"),
        *("--weights", "w"),
    )
    assert code != 0 and err.startswith("error: vectors exceed the float32 range")
    assert store_snapshot(seeded_store) == before
    assert seeded_store.space_names() == ["stop-signs"]


# -- errors that were tracebacks: one line through the CLI, nothing changed -------------


def _one_line_error(code: int, out: str, err: str) -> str:
    """The error message of a refused command; fails unless it is one ``error:`` line."""
    assert code != 0
    assert "Traceback" not in out + err
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1, err
    return err


def _file_hashes(root) -> dict[str, str]:
    """sha256 of every file under ``root``, SQLite's side files included (for a store
    whose catalog is damaged, which the ``store_snapshot`` fixture cannot checkpoint)."""
    import hashlib
    from pathlib import Path

    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(Path(root).rglob("*"))
        if path.is_file()
    }


V1 = "stop-signs@1.0.0"
#: commands that write a file: their arguments up to the output option, and a file name
WRITING_COMMANDS = {
    "export-parquet": (["export", V1, "-o"], "x.parquet"),
    "export-npy": (["export", V1, "-o"], "x.npy"),
    "project": (["project", V1, "--method", "pca", "-o"], "p.csv"),
    "report": (["report", V1, V1, "--method", "pca", "-o"], "r.html"),
    "adapter-apply": (["adapter", "apply", V1, V1, "-o"], "a.npy"),
}


@pytest.mark.parametrize("command", sorted(WRITING_COMMANDS))
def test_cli_writing_into_a_missing_folder_is_one_line(
    seeded_store, store_snapshot, tmp_path, capsys, command
):
    arguments, name = WRITING_COMMANDS[command]
    target = tmp_path / "missing" / "dir" / name
    before = store_snapshot(seeded_store)
    root = seeded_store.location.root
    err = _one_line_error(*_cli(capsys, "--store", root, *arguments, target))
    assert f"cannot write '{target}'" in err and f"folder '{target.parent}' does not exist" in err
    assert "mkdir -p" in err
    assert not (tmp_path / "missing").exists()
    assert store_snapshot(seeded_store) == before


@pytest.mark.parametrize("kind", ["a-folder", "under-a-file"])
def test_cli_export_onto_a_folder_or_under_a_file_is_one_line(
    seeded_store, store_snapshot, tmp_path, capsys, kind
):
    (tmp_path / "taken.parquet").mkdir()
    (tmp_path / "file").write_text("x")
    target = tmp_path / ("taken.parquet" if kind == "a-folder" else "file/x.parquet")
    before = store_snapshot(seeded_store)
    root = seeded_store.location.root
    err = _one_line_error(*_cli(capsys, "--store", root, "export", V1, "-o", target))
    assert f"cannot write '{target}'" in err
    assert ("it is a folder" if kind == "a-folder" else "is a file, not a folder") in err
    assert store_snapshot(seeded_store) == before


UNREACHABLE_CATALOG = "postgresql+psycopg://embver:secret@127.0.0.1:1/x"


@pytest.mark.parametrize("folder_exists", [False, True])
def test_cli_init_with_an_unreachable_catalog_leaves_nothing(tmp_path, capsys, folder_exists):
    target = tmp_path / "D"
    if folder_exists:
        target.mkdir()
    err = _one_line_error(*_cli(capsys, "init", target, "--catalog", UNREACHABLE_CATALOG))
    assert "cannot use the catalog postgresql+psycopg://embver:***@127.0.0.1:1/x" in err
    assert "Connection refused" in err and "check that the server runs" in err
    assert "secret" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == (["D"] if folder_exists else [])
    assert not (target / ".embver").exists()
    # ... so the retry is not told that "a store already exists"
    code, out, _ = _cli(capsys, "init", target)
    assert code == 0 and "created store" in out


def test_cli_opening_a_store_whose_catalog_server_is_down_is_one_line(tmp_path, capsys):
    import json

    embver.init(tmp_path).close()
    config = tmp_path / ".embver" / "config.json"
    config.write_text(
        json.dumps({**json.loads(config.read_text()), "catalog": UNREACHABLE_CATALOG})
    )
    before = _file_hashes(tmp_path)
    err = _one_line_error(*_cli(capsys, "--store", tmp_path, "spaces"))
    assert "cannot use the catalog postgresql+psycopg://embver:***@127.0.0.1:1/x" in err
    assert _file_hashes(tmp_path) == before


def test_cli_init_with_an_unknown_database_leaves_nothing(postgres_url, tmp_path, capsys):
    unknown = postgres_url.rsplit("/", 1)[0] + "/embver_no_such_database"
    err = _one_line_error(*_cli(capsys, "init", tmp_path / "D", "--catalog", unknown))
    assert 'database "embver_no_such_database" does not exist' in err and "createdb" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("data", ["ftp://x/y", "http://example.com/v", "memory://v"])
def test_cli_init_with_a_data_root_of_unknown_scheme_is_refused(tmp_path, capsys, data):
    err = _one_line_error(*_cli(capsys, "init", tmp_path / "D", "--data", data))
    assert f"data root {data!r}" in err and "file://, s3://, gs://" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("a_file", "target"), [("f", "f/D"), ("D/.embver", "D")])
def test_cli_init_where_a_file_is_in_the_way_is_one_line(tmp_path, capsys, a_file, target):
    (tmp_path / a_file).parent.mkdir(exist_ok=True)
    (tmp_path / a_file).write_text("x")
    before = sorted(tmp_path.rglob("*"))
    err = _one_line_error(*_cli(capsys, "init", tmp_path / target))
    assert "cannot create a store in" in err and "choose a folder you can write in" in err
    assert sorted(tmp_path.rglob("*")) == before


def _truncate(size):
    def damage(path):
        data = path.read_bytes()
        path.write_bytes(data[:size] if size >= 0 else data[: len(data) + size])

    return damage


def _scramble_schema(path):
    data = bytearray(path.read_bytes())
    data[100:4096] = np.random.default_rng(0).integers(0, 256, 3996, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


CATALOG_DAMAGE = {
    "truncated-mid-page": (_truncate(1000), "is truncated (1000 bytes is not a whole number"),
    "truncated-at-a-page": (_truncate(-4096), "is truncated"),
    "emptied": (_truncate(0), "is not an SQLite database (0 bytes"),
    "garbage": (
        lambda path: path.write_bytes(np.random.default_rng(0).bytes(50_000)),
        "is not an SQLite database",
    ),
    "schema-page-scrambled": (_scramble_schema, "is damaged (database disk image is malformed)"),
    "missing": (lambda path: path.unlink(), "is missing"),
}


@pytest.mark.parametrize("damage", sorted(CATALOG_DAMAGE))
def test_cli_opening_a_damaged_catalog_is_one_line_and_changes_nothing(
    seeded_store, store_snapshot, capsys, damage
):
    harm, message = CATALOG_DAMAGE[damage]
    root = seeded_store.location.root
    store_snapshot(seeded_store)  # checkpoints the write-ahead log into catalog.db
    harm(root / "catalog.db")
    before = _file_hashes(root)
    err = _one_line_error(*_cli(capsys, "--store", root, "spaces"))
    assert f"the catalog {root / 'catalog.db'} {message}" in err
    assert "restore it from a backup" in err
    assert _file_hashes(root) == before


def test_a_damaged_catalog_raises_integrity_error(seeded_store, store_snapshot):
    from embver.errors import IntegrityError

    root = seeded_store.location.root
    store_snapshot(seeded_store)
    _truncate(1000)(root / "catalog.db")
    with pytest.raises(IntegrityError, match="catalog.db is truncated"):
        embver.open(root.parent)


RECIPE_FILES = {
    "unclosed-list": (
        "architecture: [a\nweights: b\n",
        "is malformed YAML: line 2, column 8: expected ',' or ']', but got ':'",
    ),
    "tab-indent": ("\t- a: b\n", "is malformed YAML: line 1, column 1: found character '\\t'"),
    "bad-nesting": ("a: b\n  c: d\n", "is malformed YAML: line 2, column 4"),
    "context-not-mapping": (
        "architecture: a\nextraction: e\nweights: w\ncontext: made on monday\n",
        "recipe field 'context' must be a mapping",
    ),
    "specs-not-mapping": (
        "architecture: a\nextraction: e\nweights: w\nspecs: [pooling]\n",
        "recipe field 'specs' must be a mapping",
    ),
}


@pytest.mark.parametrize("space", ["stop-signs", "fresh"])
@pytest.mark.parametrize("case", sorted(RECIPE_FILES))
def test_cli_import_with_a_bad_recipe_file_is_one_line(
    seeded_store, store_snapshot, tmp_path, capsys, case, space
):
    text, message = RECIPE_FILES[case]
    (tmp_path / "bad.yaml").write_text(text)
    np.save(tmp_path / "v.npy", _vectors(3))
    (tmp_path / "ids.txt").write_text("\n".join(IDS))
    before = store_snapshot(seeded_store)
    err = _one_line_error(
        *_cli(
            capsys,
            *("--store", seeded_store.location.root, "import", space, tmp_path / "v.npy"),
            *("--ids", tmp_path / "ids.txt", "--recipe", tmp_path / "bad.yaml"),
        )
    )
    assert message in err
    if "YAML" in message:
        assert f"recipe file '{tmp_path / 'bad.yaml'}'" in err
    assert store_snapshot(seeded_store) == before


def test_a_model_of_unknown_width_asks_for_dim_in_one_line():
    torch = pytest.importorskip("torch")
    from embver.extract.images import ModuleEncoder

    encoder = ModuleEncoder(torch.nn.Linear(3, 2), preprocess=torch.as_tensor, source="tiny")
    with pytest.raises(InvalidInputError, match=r"output dimension of tiny.*pass dim=N") as info:
        encoder.recipe()
    assert "\n" not in str(info.value)
    assert encoder.recipe(dim=2).dim == 2
