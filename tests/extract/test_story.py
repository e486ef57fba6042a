"""The real demo story, at a tiny size: four versions whose bumps are derived, and `best`."""

from __future__ import annotations

import numpy as np

from embver.extract.story import knn_accuracy


def test_knn_accuracy_matches_nearest_neighbour_oracle():
    rng = np.random.default_rng(0)
    vectors, labels = rng.normal(size=(60, 8)), rng.integers(0, 3, size=60)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ unit.T - 3 * np.eye(60)
    expected = float((labels[similarity.argmax(axis=1)] == labels).mean())
    assert knn_accuracy(vectors, labels, k=1) == expected
    noise = 0.01 * rng.normal(size=(10, 2))
    separated = np.vstack([np.tile([1.0, 0.0], (5, 1)), np.tile([-1.0, 0.0], (5, 1))]) + noise
    assert knn_accuracy(separated, np.array([0] * 5 + [1] * 5), k=3) == 1.0


def test_demo_story_at_a_tiny_size(tmp_path):
    from embver.demo import run_demo

    lines: list[str] = []
    store = run_demo(
        tmp_path / "demo", echo=lines.append, per_topic=4, train_size=16, steps=2, progress=False
    )
    versions = {str(v.number): v for v in store.versions("bbc-news")}
    assert sorted(versions) == ["1.0.0", "1.1.0", "1.1.1", "2.0.0"]
    assert versions["1.1.0"].reasons == ["extraction changed: pooling mean → cls ⇒ MINOR"]
    assert (
        versions["1.1.1"].bump.name == "PATCH"
        and versions["1.1.1"].parent.number == versions["1.1.0"].number
    )
    assert versions["2.0.0"].reasons[0] == "architecture changed: num_hidden_layers 6 → 3 ⇒ MAJOR"
    assert versions["1.1.1"].recipe.context.hyperparameters["steps"] == 2
    assert store.get("bbc-news@best").count == 20
    text = "\n".join(lines)
    assert "alias best →" in text and "2.0.0 [major]" in text
    assert (tmp_path / "demo" / "models" / "minilm-bbc" / "modules.json").exists()
