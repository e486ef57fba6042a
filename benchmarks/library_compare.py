"""The figures of ``embver compare``, computed with the standard libraries: a second peer.

``numpy_compare.py`` computes three of the figures a compare prints (10-NN overlap,
linear CKA, Procrustes). This script computes the same figures as ``embver compare
--json`` does, with the same sizes, seeds and resample counts, the way a user would
stitch them together from scikit-learn, SciPy and umap-learn:

- neighbourhood: exact 50-NN (scikit-learn ``NearestNeighbors``, brute force) of both
  versions; overlap and Jaccard at 10 and 50 with 1,000-resample bootstrap intervals;
- structure: linear and debiased CKA, the Procrustes angle (SciPy), Spearman's rho of
  100,000 random pairs' similarities and its permutation null (SciPy), CKA/Procrustes of
  shuffled rows, trustworthiness and continuity at k=10 (scikit-learn);
- clusters: umap-learn 5-d layouts (seeded, ``min_dist=0``) and HDBSCAN (scikit-learn,
  leaf selection) of each version twice (the second with the next seed: the floor), ARI
  and AMI of the four pairings and a 100-shuffle permutation null (scikit-learn's scores);
- same space: per-item cosine, random-pair cosines, cross-version 10-NN and self-hit;
- migration: orthogonal Procrustes (SciPy), ridge (scikit-learn ``RidgeCV`` over the same
  five penalties) and a ridge + one-hidden-layer (256) residual network (scikit-learn
  ``MLPRegressor``, 10 epochs of Adam) in both directions, on a 60/20/20 split, with
  pool and full-index retention at k=10 and their bootstrap intervals.

It prints the seconds of each step on one line. The numbers are not compared with
embver's (different implementations of seeded randomness); the work is the same.

    python benchmarks/library_compare.py a.npy b.npy
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

STEPS: dict[str, float] = {}


class step:
    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        STEPS[self.name] = time.perf_counter() - self.started


def normalised(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def bootstrap(values: np.ndarray, rng: np.random.Generator, resamples: int = 1000) -> tuple:
    draws = rng.integers(0, len(values), size=(resamples, len(values)))
    means = values[draws].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def neighbours(x: np.ndarray, k: int) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    found = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(x).kneighbors(x)[1]
    return found[:, 1:]


def overlaps(a: np.ndarray, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    shared = np.array([len(np.intersect1d(p[:k], q[:k])) for p, q in zip(a, b, strict=True)])
    return shared / k, shared / (2 * k - shared)


def cka(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from scipy.linalg import orthogonal_procrustes

    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    cross = np.linalg.norm(xc.T @ yc) ** 2
    value = cross / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))
    xn, yn = xc / np.linalg.norm(xc), yc / np.linalg.norm(yc)
    rotation, _ = orthogonal_procrustes(xn, yn)
    angle = float(np.arccos(np.clip(np.sum((xn @ rotation) * yn), -1, 1)))
    return float(value), angle


def debiased_cka(x: np.ndarray, y: np.ndarray) -> float:
    def centred_gram(g: np.ndarray) -> np.ndarray:
        n = len(g)
        np.fill_diagonal(g, 0.0)
        means = g.sum(axis=0) / (n - 2)
        g = g - means[:, None] - means[None, :] + g.sum() / ((n - 1) * (n - 2))
        np.fill_diagonal(g, 0.0)
        return g

    a, b = centred_gram(x @ x.T), centred_gram(y @ y.T)
    return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))


def pair_rho(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, pairs: int) -> float:
    from scipy.stats import spearmanr

    i, j = rng.integers(0, len(x), pairs), rng.integers(0, len(x), pairs)
    keep = i != j
    return float(spearmanr(np.sum(x[i] * x[j], 1)[keep], np.sum(y[i] * y[j], 1)[keep])[0])


def clusters(x: np.ndarray, seed: int) -> np.ndarray:
    import umap
    from sklearn.cluster import HDBSCAN

    layout = umap.UMAP(n_components=5, metric="cosine", min_dist=0.0, random_state=seed)
    size = max(10, int(np.sqrt(len(x))))  # embver's default minimum cluster size
    model = HDBSCAN(
        min_cluster_size=size, min_samples=size + 1, cluster_selection_method="leaf", copy=True
    )
    return model.fit_predict(layout.fit_transform(x))


def migration(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, k: int = 10) -> dict:
    from scipy.linalg import orthogonal_procrustes
    from sklearn.linear_model import RidgeCV
    from sklearn.neural_network import MLPRegressor

    order = rng.permutation(len(x))
    cut = len(x) // 5
    test, valid, train = order[:cut], order[cut : 2 * cut], order[2 * cut :]
    scores = {}
    for direction, (src, dst) in {"old->new": (x, y), "new->old": (y, x)}.items():
        truth_full = neighbours(dst, k)[test]
        truth_pool = neighbours(dst[test], k)
        rotation, _ = orthogonal_procrustes(src[train], dst[train])
        ridge = RidgeCV(alphas=(1e-6, 1e-4, 1e-2, 1e-1, 1.0)).fit(src[train], dst[train])
        residual = dst[train] - ridge.predict(src[train])
        mlp = MLPRegressor(hidden_layer_sizes=(256,), max_iter=10, random_state=0)
        mlp.fit(src[train], residual)
        maps = {
            "procrustes": lambda v, r=rotation: v @ r,
            "ridge": ridge.predict,
            "mlp": lambda v, r=ridge, m=mlp: r.predict(v) + m.predict(v),
        }
        for kind, apply in maps.items():
            for part in (valid, test):  # the validation pool chooses, the test pool reports
                mapped = normalised(apply(src[part]))
                found = neighbours(mapped, k)
                truth = neighbours(dst[part], k) if part is valid else truth_pool
                retained = overlaps(found, truth, k)[0]
            full = normalised(apply(src[test])) @ dst.T
            full[np.arange(len(test)), test] = -np.inf  # the item itself is not its neighbour
            found_full = np.argpartition(-full, k, axis=1)[:, :k]
            kept = overlaps(found_full, truth_full, k)[0]
            scores[direction, kind] = (retained.mean(), bootstrap(retained, rng), kept.mean(),
                                       bootstrap(kept, rng))  # fmt: skip
    return scores


def main(path_a: str, path_b: str) -> None:
    started = time.perf_counter()
    x = normalised(np.load(path_a).astype(np.float64))
    y = normalised(np.load(path_b).astype(np.float64))
    rng = np.random.default_rng(0)
    with step("neighbours"):
        nx, ny = neighbours(x, 50), neighbours(y, 50)
    with step("neighbourhood"):
        for k in (10, 50):
            for values in overlaps(nx, ny, k):
                bootstrap(values, rng)
    with step("structure"):
        from sklearn.manifold import trustworthiness

        cka(x, y)
        debiased_cka(x, y)
        cka(x, y[rng.permutation(len(y))])
        pair_rho(x, y, rng, 100_000)
        pair_rho(x, y[rng.permutation(len(y))], rng, 100_000)
        trustworthiness(x, y, n_neighbors=10, metric="cosine")
        trustworthiness(y, x, n_neighbors=10, metric="cosine")
    with step("clusters"):
        from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

        old, new = clusters(x, 0), clusters(y, 0)
        old_again, new_again = clusters(x, 1), clusters(y, 1)
        for a, b in ((old, new), (old, old_again), (new, new_again), (old_again, new_again)):
            adjusted_rand_score(a, b), adjusted_mutual_info_score(a, b)
        for _ in range(100):
            shuffled = rng.permutation(new)
            adjusted_rand_score(old, shuffled), adjusted_mutual_info_score(old, shuffled)
    with step("same_space"):
        cosine = np.sum(x * y, axis=1)
        bootstrap(cosine, rng)
        pairs = rng.integers(0, len(x), size=(2, min(100_000, 10 * len(x))))
        np.percentile(np.sum(x[pairs[0]] * y[pairs[1]], axis=1), 95)
        cross = np.argpartition(-(x @ y.T), 10, axis=1)[:, :10]
        bootstrap(overlaps(cross, nx, 10)[0], rng)
        bootstrap((np.argmax(x @ y.T, axis=1) == np.arange(len(x))).astype(float), rng)
    with step("migration"):
        migration(x, y, rng)
    total = time.perf_counter() - started
    print(f"total {total:.2f} s: " + ", ".join(f"{k} {v:.2f} s" for k, v in STEPS.items()))


if __name__ == "__main__":
    warnings.simplefilter("ignore")  # umap-learn's seeded-run and the MLP's 10-epoch notices
    main(sys.argv[1], sys.argv[2])
