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


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


def _cli(capsys, *args: str) -> tuple[int, str]:
    """Run the real ``embver`` entry point; its exit code and what it wrote to stderr."""
    from embver.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    return int(info.value.code or 0), capsys.readouterr().err


def test_cli_import_of_float64_beyond_float32_is_refused_in_one_line(
    seeded_store, store_snapshot, tmp_path, capsys
):
    np.save(tmp_path / "big.npy", _beyond_float32())
    (tmp_path / "ids.txt").write_text("\n".join(IDS))
    before = store_snapshot(seeded_store)
    code, err = _cli(
        capsys,
        *("--store", seeded_store.location.root, "import", "stop-signs", tmp_path / "big.npy"),
        *("--ids", tmp_path / "ids.txt", "--architecture", "arch-a", "--extraction", "mean"),
        *("--weights", "w9"),
    )
    assert code != 0
    assert err.count("\n") == 1 and err.startswith("error: vectors exceed the float32 range")
    assert "1e+300" in err and "item-4" in err
    assert store_snapshot(seeded_store) == before
