"""Migration maps between two versions: orthogonal Procrustes, ridge (affine), residual MLP.

A map sends vectors of a *source* version (n, d_s) to a *target* version
(n, d_t); d_s and d_t may differ. Every map is plain numpy once fitted (the
MLP trains with torch, imported lazily, then keeps only its weights), and
round-trips through :meth:`Map.to_bytes` / :func:`map_from_bytes` so it can be
stored with the version pair.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from embver.compare.neighbors import as_float32, canonical_metric, normalize_rows
from embver.errors import InvalidInputError

MAP_KINDS = ("procrustes", "ridge", "mlp")
#: ridge penalties tried, as multiples of the mean feature variance
RIDGE_ALPHAS = (1e-6, 1e-4, 1e-2, 1e-1, 1.0)


@dataclass
class Map:
    """A fitted map from a source version (d_in) to a target version (d_out)."""

    kind: ClassVar[str] = "map"
    normalize_input: bool
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def dim_in(self) -> int:
        return int(self.arrays["weight"].shape[0])

    @property
    def dim_out(self) -> int:
        return int(self.arrays["weight"].shape[1])

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """Map ``vectors`` (m, d_in) to the target version; float32 (m, d_out)."""
        x = as_float32(vectors)
        if x.shape[1] != self.dim_in:
            raise InvalidInputError(
                f"this {self.kind} map takes vectors of dimension {self.dim_in}; got {x.shape[1]}"
            )
        if self.normalize_input:
            x = normalize_rows(x)
        return self._apply(x.astype(np.float64)).astype(np.float32)

    def _apply(self, x: np.ndarray) -> np.ndarray:
        return x @ self.arrays["weight"] + self.arrays["bias"]

    def to_bytes(self) -> bytes:
        """Serialise as an ``.npz`` archive with a JSON header."""
        buffer = io.BytesIO()
        header = json.dumps({"kind": self.kind, "normalize_input": self.normalize_input})
        arrays = {"__header__": np.frombuffer(header.encode(), dtype=np.uint8), **self.arrays}
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()


class ProcrustesMap(Map):
    """x ↦ s·(x − μ_s)·W + μ_t with W semi-orthogonal (d_s, d_t) and s > 0."""

    kind = "procrustes"


class RidgeMap(Map):
    """x ↦ x·W + b, least squares with an L2 penalty chosen on a validation split."""

    kind = "ridge"


class MLPMap(Map):
    """x ↦ x·W + b + relu(x·W₁ + b₁)·W₂ + b₂: ridge plus a learned residual."""

    kind = "mlp"

    def _apply(self, x: np.ndarray) -> np.ndarray:
        a = self.arrays
        hidden = np.maximum(x @ a["w1"] + a["b1"], 0.0)
        return x @ a["weight"] + a["bias"] + hidden @ a["w2"] + a["b2"]


_KINDS: dict[str, type[Map]] = {"procrustes": ProcrustesMap, "ridge": RidgeMap, "mlp": MLPMap}


def map_from_bytes(payload: bytes) -> Map:
    """Load a map written by :meth:`Map.to_bytes`."""
    with np.load(io.BytesIO(payload)) as archive:
        header = json.loads(archive["__header__"].tobytes().decode())
        arrays = {name: archive[name] for name in archive.files if name != "__header__"}
    cls = _KINDS.get(header.get("kind", ""))
    if cls is None:
        raise InvalidInputError(f"unknown map kind {header.get('kind')!r} in stored adapter")
    return cls(normalize_input=bool(header["normalize_input"]), arrays=arrays)


def _inputs(source: np.ndarray, target: np.ndarray, metric_source: str) -> tuple[np.ndarray, ...]:
    x = as_float32(source, "source").astype(np.float64)
    y = as_float32(target, "target").astype(np.float64)
    if x.shape[0] != y.shape[0]:
        raise InvalidInputError(
            f"source has {x.shape[0]} rows but target has {y.shape[0]}; pair the same items"
        )
    if x.shape[0] < 2:
        raise InvalidInputError("fitting a map needs at least 2 paired items")
    if canonical_metric(metric_source) == "cosine":
        x = normalize_rows(x).astype(np.float64)
    return x, y


def fit_procrustes(
    source: np.ndarray, target: np.ndarray, *, metric_source: str = "cosine"
) -> ProcrustesMap:
    """Fit an orthogonal Procrustes map with isotropic scale, padding the smaller dimension."""
    x, y = _inputs(source, target, metric_source)
    mean_x, mean_y = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - mean_x, y - mean_y
    u, s, vt = np.linalg.svd(xc.T @ yc, full_matrices=False)
    rotation = u @ vt  # (d_s, d_t): zero-padding the smaller side gives the same optimum
    scale = float(s.sum() / max(np.sum(xc**2), 1e-300))
    weight = scale * rotation
    bias = mean_y - mean_x @ weight
    normalize = canonical_metric(metric_source) == "cosine"
    return ProcrustesMap(normalize_input=normalize, arrays={"weight": weight, "bias": bias})


def _ridge_solve(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    mean_x, mean_y = x.mean(axis=0), y.mean(axis=0)
    xc = x - mean_x
    gram = xc.T @ xc
    penalty = alpha * np.trace(gram) / gram.shape[0]
    weight = np.linalg.solve(gram + penalty * np.eye(gram.shape[0]), xc.T @ (y - mean_y))
    return weight, mean_y - mean_x @ weight


def fit_ridge(
    source: np.ndarray, target: np.ndarray, *, metric_source: str = "cosine", seed: int = 0
) -> RidgeMap:
    """Fit an affine least-squares map, choosing the penalty on a 10 % validation split."""
    x, y = _inputs(source, target, metric_source)
    alpha = _choose_alpha(x, y, seed)
    weight, bias = _ridge_solve(x, y, alpha)
    normalize = canonical_metric(metric_source) == "cosine"
    return RidgeMap(
        normalize_input=normalize,
        arrays={"weight": weight, "bias": bias, "alpha": np.array(alpha)},
    )


def _choose_alpha(x: np.ndarray, y: np.ndarray, seed: int) -> float:
    n = x.shape[0]
    if n < 20:
        return RIDGE_ALPHAS[-1]
    order = np.random.default_rng(seed).permutation(n)
    valid, train = order[: n // 10], order[n // 10 :]
    errors = []
    for alpha in RIDGE_ALPHAS:
        weight, bias = _ridge_solve(x[train], y[train], alpha)
        errors.append(float(np.mean((x[valid] @ weight + bias - y[valid]) ** 2)))
    return RIDGE_ALPHAS[int(np.argmin(errors))]


def fit_mlp(
    source: np.ndarray,
    target: np.ndarray,
    *,
    metric_source: str = "cosine",
    metric_target: str = "cosine",
    hidden: int = 256,
    epochs: int = 15,
    seed: int = 0,
) -> MLPMap:
    """Fit ridge, then train a one-hidden-layer ReLU residual on top of it with torch.

    The residual's output layer starts at zero, so training starts from the
    ridge solution and can only move away from it where the loss improves.
    The loss is 1 − cosine for a cosine target, mean squared error otherwise.
    """
    if hidden < 1 or epochs < 1:
        raise InvalidInputError(f"hidden={hidden} and epochs={epochs} must be positive")
    ridge = fit_ridge(source, target, metric_source=metric_source, seed=seed)
    x, y = _inputs(source, target, metric_source)
    weights = _train_residual(x, y, ridge, hidden, epochs, seed, canonical_metric(metric_target))
    return MLPMap(normalize_input=ridge.normalize_input, arrays={**ridge.arrays, **weights})


def _train_residual(
    x: np.ndarray, y: np.ndarray, ridge: RidgeMap, hidden: int, epochs: int, seed: int, metric: str
) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a pinned dependency
        from embver.errors import DependencyError

        raise DependencyError("the MLP map needs torch; install embver[models]") from exc
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    tx = torch.from_numpy(x.astype(np.float32))
    ty = torch.from_numpy(y.astype(np.float32))
    base = torch.from_numpy((x @ ridge.arrays["weight"] + ridge.arrays["bias"]).astype(np.float32))
    first = torch.nn.Linear(x.shape[1], hidden)
    second = torch.nn.Linear(hidden, y.shape[1])
    torch.nn.init.zeros_(second.weight)
    torch.nn.init.zeros_(second.bias)
    params = [*first.parameters(), *second.parameters()]
    optimiser = torch.optim.Adam(params, lr=1e-3)
    for _ in range(epochs):
        for batch in torch.randperm(x.shape[0], generator=generator).split(256):
            pred = base[batch] + second(torch.relu(first(tx[batch])))
            if metric == "cosine":
                loss = 1.0 - torch.nn.functional.cosine_similarity(pred, ty[batch]).mean()
            else:
                loss = torch.mean((pred - ty[batch]) ** 2)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        return {
            "w1": first.weight.T.double().numpy().copy(),
            "b1": first.bias.double().numpy().copy(),
            "w2": second.weight.T.double().numpy().copy(),
            "b2": second.bias.double().numpy().copy(),
        }


def fit_map(
    kind: str,
    source: np.ndarray,
    target: np.ndarray,
    *,
    metric_source: str = "cosine",
    metric_target: str = "cosine",
    seed: int = 0,
) -> Map:
    """Fit the map named ``kind`` ("procrustes", "ridge" or "mlp")."""
    if kind == "procrustes":
        return fit_procrustes(source, target, metric_source=metric_source)
    if kind == "ridge":
        return fit_ridge(source, target, metric_source=metric_source, seed=seed)
    if kind == "mlp":
        return fit_mlp(
            source, target, metric_source=metric_source, metric_target=metric_target, seed=seed
        )
    raise InvalidInputError(f"map kind {kind!r} is not known; use one of {', '.join(MAP_KINDS)}")


def describe(fitted: Map) -> dict[str, Any]:
    """Plain description of a fitted map (kind and dimensions)."""
    return {"kind": fitted.kind, "dim_in": fitted.dim_in, "dim_out": fitted.dim_out}
