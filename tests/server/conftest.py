"""A real store of real data for the UI tests: scikit-learn's handwritten digits.

``digits`` holds three versions of 600 digit images (8×8 pixels):
1.0.0 raw pixels, 1.0.1 a retrain (PATCH: slightly noisy pixels), 1.1.0 a new
extraction (MINOR: square-root pixels); alias ``production`` moved once, with a
reason. The first 40 items carry PNG thumbnails under the project folder.
``digits-ink`` is a composite version with a component edge to digits@1.0.0.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

import embver

N_ITEMS = 600
N_IMAGES = 40


def _png(pixels: np.ndarray) -> bytes:
    """A grey-scale PNG of an (h, w) uint8 array (no imaging library needed)."""
    import struct

    height, width = pixels.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def build_digits_store(root: Path) -> embver.Store:
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = digits.data[:N_ITEMS].astype(np.float32) / 16.0
    labels = [str(t) for t in digits.target[:N_ITEMS]]
    ids = [f"digit-{i:04d}" for i in range(N_ITEMS)]
    images = root / "images"
    images.mkdir(parents=True)
    uris = []
    for i in range(N_ITEMS):
        if i < N_IMAGES:
            big = np.kron(digits.images[i] * 15, np.ones((4, 4))).astype(np.uint8)
            (images / f"{ids[i]}.png").write_bytes(_png(big))
            uris.append(f"images/{ids[i]}.png")
        else:
            uris.append(None)
    texts = [f"handwritten {label}, sample {i}" for i, label in enumerate(labels)]
    metadata = [
        {"batch": "late" if i >= 500 else "early", "ink": round(float(p.sum()), 1)}
        for i, p in enumerate(pixels)
    ]

    store = embver.init(root)
    space = store.space("digits")
    base = embver.Recipe(architecture="pixels-8x8", extraction="raw", weights="w0", dim=64)
    v1 = space.register(
        pixels, ids=ids, recipe=base, texts=texts, labels=labels, uris=uris, metadata=metadata
    )
    rng = np.random.default_rng(0)
    retrained = (pixels + rng.normal(scale=0.03, size=pixels.shape)).astype(np.float32)
    space.register(
        retrained,
        ids=ids,
        recipe=embver.Recipe(architecture="pixels-8x8", extraction="raw", weights="w1", dim=64),
        parent=v1,
    )
    space.register(
        np.sqrt(pixels),
        ids=ids,
        recipe=embver.Recipe(architecture="pixels-8x8", extraction="sqrt", weights="w0", dim=64),
        parent=v1,
    )
    # A composite built from digits@1.0.0 (first 50 items, pixels plus their ink).
    composite = np.hstack([pixels[:50], pixels[:50].sum(axis=1, keepdims=True) / 64])
    store.space("digits-ink", kind="composite").register(
        composite.astype(np.float32),
        ids=ids[:50],
        recipe=embver.Recipe(
            architecture="concat:digits+ink", extraction="concat", weights="-", dim=65
        ),
        edges=[(v1.id, "component", {"name": "digits", "pin": "1.0.0"})],
    )
    store.set_alias("digits", "production", "1.0.0", reason="first release", actor="tests")
    store.set_alias("digits", "production", "1.0.1", reason="retrained on more data", actor="tests")
    return store


@pytest.fixture(scope="session")
def digits_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui") / "project"
    store = build_digits_store(root)
    yield store
    store.close()
