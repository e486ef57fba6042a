"""Composite spaces in a real store: pins, missing items, cycles, impact, rebuild, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import embver
from embver.composite import fitted_of, load_definition, zero_fill_mask
from embver.errors import InvalidInputError, NotFoundError


def make_ids(n: int) -> list[str]:
    return [f"item-{i:06d}" for i in range(n)]


def recipe(arch="a", ext="mean", weights="w1", dim=8):
    return embver.Recipe(architecture=arch, extraction=ext, weights=weights, dim=dim)


@pytest.fixture
def spaces(store, rng):
    """title (40 items, alias production → 1.0.0), photo (first 35 items), price (all 40)."""
    ids = make_ids(40)
    store.space("title").register(
        rng.normal(size=(40, 8)), ids=ids, recipe=recipe(), texts=[f"t{i}" for i in ids]
    )
    store.space("photo").register(
        rng.normal(size=(35, 6)), ids=ids[:35], recipe=recipe("cnn", dim=6), uris=ids[:35]
    )
    store.space("price").register(rng.normal(size=(40, 2)), ids=ids, recipe=recipe("num", dim=2))
    store.set_alias("title", "production", "1.0.0")
    return ids


def retrain(store, rng, space="title", weights="w2", ext="mean", arch="a", dim=8):
    old = store.get(f"{space}@latest")
    noise = (
        0.001 * rng.normal(size=(old.count, old.dim))
        if dim == old.dim
        else rng.normal(size=(old.count, dim))
    )
    base = old.vectors() if dim == old.dim else 0
    return store.space(space).register(
        base + noise, ids=old.ids, recipe=recipe(arch, ext, weights, dim)
    )


def components(version):
    return [e["ref"] for e in version._store.edges(version) if e["kind"] == "component"]


def test_a_composite_records_its_components_and_items(store, spaces):
    v = store.composite(
        "product", [("title", "production"), ("photo", "1.0.0")], embver.Concat(weights=(1, 0.5))
    )
    assert (str(v.number), v.count, v.dim) == ("1.0.0", 35, 14)  # drop: the 35 items both have
    assert components(v) == ["title@1.0.0", "photo@1.0.0"]
    assert store.space("product").kind == "composite"
    items = store.items("product", ids=spaces[:2])
    assert (
        items["text"].tolist() == ["t" + spaces[0], "t" + spaces[1]]
        and items["uri"].tolist() == spaces[:2]
    )
    entries = v.recipe.specs["composite"]["components"]
    assert [(e["space"], e["pin"], e["version"]) for e in entries] == [
        ("title", "production", "1.0.0"),
        ("photo", "1.0.0", "1.0.0"),
    ]


def test_alias_pins_follow_and_version_pins_stay(store, spaces, rng):
    store.composite("product", [("title", "production"), ("photo", "1.0.0")])
    retrain(store, rng, "photo", weights="w2")  # photo@1.0.1: the version pin ignores it
    title = retrain(store, rng)  # title@1.0.1
    unchanged = store.rebuild("product")
    assert unchanged.appended and str(unchanged.number) == "1.0.0"  # the alias did not move yet
    store.set_alias("title", "production", title)
    v = store.rebuild("product")
    assert (str(v.number), str(v.bump)) == ("1.0.1", "patch")
    assert components(v) == ["title@1.0.1", "photo@1.0.0"]
    assert v.verdict is not None and v.verdict["label"] == "drop-in"


def test_combiner_change_is_minor_and_component_major_is_major(store, spaces, rng):
    store.composite("product", [("title", "production"), ("price", "1.0.0")], embver.Concat())
    v = store.composite(
        "product", [("title", "production"), ("price", "1.0.0")], embver.Concat(weights=(1, 2))
    )
    assert (str(v.number), str(v.bump)) == ("1.1.0", "minor")
    store.set_alias("title", "production", retrain(store, rng, arch="b"))
    v = store.rebuild("product")
    assert (str(v.number), str(v.bump)) == ("2.0.0", "major")


def test_refitting_a_projection_on_more_items_is_a_patch(store, spaces, rng):
    first = store.composite(
        "mix", [("title", "1.0.0"), ("price", "1.0.0")], embver.LearnedProjection(dim=4)
    )
    again = store.rebuild("mix")
    assert again == first and again.appended  # same data, same fit: same version
    more = make_ids(50)[40:]
    store.space("title").register(
        rng.normal(size=(10, 8)), ids=more, recipe=recipe()
    )  # appended to 1.0.0
    store.space("price").register(rng.normal(size=(10, 2)), ids=more, recipe=recipe("num", dim=2))
    refit = store.rebuild("mix")
    assert (str(refit.number), str(refit.bump), refit.count) == ("1.0.1", "patch", 50)
    assert refit.recipe.specs["composite"]["fitted"] != first.recipe.specs["composite"]["fitted"]
    assert fitted_of(store, refit).hash == refit.recipe.specs["composite"]["fitted"]
    assert refit.reasons == [
        f"weights changed: fitted {first.recipe.specs['composite']['fitted']} → "
        f"{refit.recipe.specs['composite']['fitted']} ⇒ PATCH"
    ]


def test_zero_fill_records_a_mask_and_error_names_the_gap(store, spaces):
    v = store.composite("product", [("title", "1.0.0"), ("photo", "1.0.0")], missing="zero")
    assert v.count == 40
    ids, missing = zero_fill_mask(store, v)
    assert [i for i, row in zip(ids, missing, strict=True) if row[1]] == spaces[35:]
    assert not missing[:, 0].any()
    np.testing.assert_array_equal(v.vectors(spaces[35:])[:, 8:], 0)
    with pytest.raises(
        InvalidInputError, match=r"5 item\(s\) are not in component 'photo' \(photo@1.0.0\)"
    ):
        store.composite("strict", [("title", "1.0.0"), ("photo", "1.0.0")], missing="error")
    assert store.artifacts.get("composite-def", "strict") is None  # nothing written
    assert "strict" not in store.space_names()
    # the photos arrive later under the same photo version: the registered composite
    # vectors stay immutable (zero-filled, mask kept); only new items would be appended
    store.space("photo").register(np.ones((5, 6)), ids=spaces[35:], recipe=recipe("cnn", dim=6))
    again = store.rebuild("product")
    assert again == v and again.appended and again.count == 40
    np.testing.assert_array_equal(again.vectors(spaces[35:])[:, 8:], 0)
    assert zero_fill_mask(store, again)[1].sum() == 5


def test_cycles_are_refused(store, spaces):
    store.composite("inner", [("title", "1.0.0")])
    store.composite("outer", [("inner", "latest"), ("price", "1.0.0")])
    with pytest.raises(InvalidInputError, match="inner → outer → inner"):
        store.composite("inner", [("outer", "latest")])
    with pytest.raises(InvalidInputError, match="would contain itself"):
        store.composite("self", [("self", "latest")])
    assert [c.space for c in load_definition(store, "inner").components] == ["title"]


def test_a_gone_alias_is_named(store, spaces):
    store.composite("product", [("title", "production"), ("price", "1.0.0")])
    store.remove_alias("title", "production")
    with pytest.raises(
        NotFoundError, match=r"component 'title' pins title@production, which is gone"
    ):
        store.rebuild("product")
    with pytest.raises(NotFoundError, match=r"no version matches photo@9.0.0"):
        store.composite("other", [("photo", "9.0.0")])


def test_impact_reaches_through_composites(store, spaces, rng):
    store.composite("product", [("title", "production"), ("price", "1.0.0")])
    store.composite("frozen", [("title", "1.0.0"), ("price", "1.0.0")])
    store.composite("bundle", [("product", "latest"), ("photo", "1.0.0")])
    title = retrain(store, rng, ext="cls")  # title@1.1.0
    before = {(r.composite, r.depth): r for r in store.impact(title.ref).rows}
    assert {k: (r.follows, r.bump) for k, r in before.items()} == {
        ("frozen", 1): (False, "minor"),
        ("product", 1): (False, "minor"),
        ("bundle", 2): (False, "minor"),
    }
    store.set_alias("title", "production", title)
    after = {(r.composite, r.depth): r for r in store.impact(title.ref).rows}
    assert (
        after[("product", 1)].follows and after[("bundle", 2)].follows
    )  # floating pins all the way
    assert not after[("frozen", 1)].follows
    store.rebuild("bundle", recursive=True)
    built = {(r.composite, r.depth): r for r in store.impact(title.ref).rows}
    assert (
        built[("product", 1)].built == "product@1.1.0"
        and built[("bundle", 2)].built == "bundle@1.1.0"
    )
    assert built[("bundle", 2)].path == ["title@1.1.0", "product", "bundle"]


def test_cli_define_impact_rebuild_and_log(store, spaces, rng, monkeypatch):
    from embver.cli import cli

    monkeypatch.setenv("EMBVER_STORE", str(store.location.root))
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    out = run(
        "composite",
        "define",
        "product",
        "-c",
        "title@production",
        "-c",
        "photo@1.0.0",
        "--weights",
        "1,0.5",
    )
    assert "registered product@1.0.0 (35 × 14), MAJOR" in out
    store.set_alias("title", "production", retrain(store, rng))
    impact = json.loads(run("impact", "title@1.0.1", "--json"))
    assert [(c["composite"], c["follows"], c["bump"]) for c in impact["composites"]] == [
        ("product", True, "patch")
    ]
    assert "rebuild on it ⇒ PATCH" in run("impact", "title@1.0.1")
    rebuilt = json.loads(run("rebuild", "product", "--json"))
    assert (rebuilt["version"], rebuilt["components"]) == ("1.0.1", ["title@1.0.1", "photo@1.0.0"])
    assert "← title@1.0.1, photo@1.0.0" in run("log", "product")
    assert "component: title@1.0.1" in run("show", "product@1.0.1")
    shown = json.loads(run("composite", "show", "product", "--json"))
    assert [c["resolves_to"] for c in shown["components"]] == ["title@1.0.1", "photo@1.0.0"]
    assert json.loads(run("composite", "list", "--json"))[0]["components"] == [
        "title@production",
        "photo@1.0.0",
    ]


def test_a_given_linear_map_is_stored_and_a_new_map_is_a_patch(store, spaces, rng):
    first_map = rng.normal(size=(10, 3))
    projection = embver.LearnedProjection(dim=3, method="linear", matrix=first_map)
    first = store.composite("lin", [("title", "production"), ("price", "1.0.0")], projection)
    store.set_alias("title", "production", retrain(store, rng))
    rebuilt = store.rebuild("lin")  # the stored map is loaded back from the store
    assert (str(rebuilt.number), fitted_of(store, rebuilt).hash) == (
        "1.0.1",
        fitted_of(store, first).hash,
    )
    nudged = first_map + 1e-4 * rng.normal(size=first_map.shape)
    refit = store.composite(
        "lin",
        [("title", "production"), ("price", "1.0.0")],
        embver.LearnedProjection(dim=3, method="linear", matrix=nudged),
    )
    assert (str(refit.number), str(refit.bump)) == ("1.0.2", "patch")
    np.testing.assert_allclose(fitted_of(store, refit).arrays["matrix"], nudged.astype(np.float32))


def test_strict_mode_refuses_a_breaking_composite_patch_and_keeps_the_definition(
    store, spaces, rng
):
    components = [("title", "production"), ("price", "1.0.0")]
    store.composite(
        "lin", components, embver.LearnedProjection(3, "linear", matrix=rng.normal(size=(10, 3)))
    )
    store.set_setting("strict", True)
    scrambled = embver.LearnedProjection(3, "linear", matrix=rng.normal(size=(10, 3)))
    with pytest.raises(embver.VerdictError, match="breaking"):
        store.composite("lin", components, scrambled)
    assert [str(v.number) for v in store.versions("lin")] == ["1.0.0"]
    assert load_definition(store, "lin").combiner != scrambled


def test_a_plain_space_name_is_refused(store, spaces):
    with pytest.raises(InvalidInputError, match="'title' already exists as a plain space"):
        store.composite("title", [("price", "1.0.0")])


def test_cli_projection_from_a_matrix_file_and_errors_name_the_pin(
    store, spaces, rng, tmp_path, monkeypatch, capsys
):
    from embver.cli import main

    monkeypatch.setenv("EMBVER_STORE", str(store.location.root))
    matrix = rng.normal(size=(10, 3))
    np.save(tmp_path / "head.npy", matrix)

    def run(*args):
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_info:
            code = exit_info.code
        return code, capsys.readouterr()

    code, out = run(
        "composite",
        "define",
        "head",
        "-c",
        "title@production",
        "-c",
        "price@1.0.0",
        "--combiner",
        "projection",
        "--matrix",
        str(tmp_path / "head.npy"),
        "--json",
    )
    data = json.loads(out.out)
    assert (code, data["dim"], data["version"]) == (0, 3, "1.0.0")
    parts = [store.get(r).vectors() for r in ("title@1.0.0", "price@1.0.0")]
    inputs = np.hstack([p / np.linalg.norm(p, axis=1, keepdims=True) for p in parts])
    np.testing.assert_allclose(
        store.get("head@1.0.0").vectors(), inputs @ matrix, rtol=1e-4, atol=1e-5
    )
    store.remove_alias("title", "production")
    code, out = run("rebuild", "head")
    assert code == 2
    assert "component 'title' pins title@production, which is gone" in out.err
    code, out = run("composite", "define", "bad", "-c", "title@1.0.0", "--combiner", "projection")
    assert code == 2 and "--combiner projection needs --dim" in out.err
