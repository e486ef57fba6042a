"""Migration maps between two versions: orthogonal Procrustes, ridge (affine), residual MLP.

A map sends vectors of a *source* version (n, d_s) to a *target* version
(n, d_t); d_s and d_t may differ. Every map is plain numpy (the residual MLP
included: it is small enough that hand-written gradients beat importing torch), and
round-trips through :meth:`Map.to_bytes` / :func:`map_from_bytes` so it can be
stored with the version pair.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from embver.errors import IntegrityError, InvalidInputError
from embver.neighbors import as_float32, canonical_metric, check_paired, normalize_rows

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
    try:
        with np.load(io.BytesIO(payload)) as archive:
            header = json.loads(archive["__header__"].tobytes().decode())
            arrays = {name: archive[name] for name in archive.files if name != "__header__"}
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:
        raise IntegrityError(f"stored adapter is unreadable ({exc}); fit it again") from None
    cls = _KINDS.get(header.get("kind", ""))
    if cls is None:
        raise InvalidInputError(f"unknown map kind {header.get('kind')!r} in stored adapter")
    return cls(normalize_input=bool(header["normalize_input"]), arrays=arrays)


def _inputs(
    source: np.ndarray, target: np.ndarray, metric_source: str, metric_target: str
) -> tuple[np.ndarray, np.ndarray]:
    """Float64 training pairs; cosine sides are unit-normalised (only direction matters)."""
    x = as_float32(source, "source")
    y = as_float32(target, "target")
    check_paired(x, y, ("source", "target"))
    if x.shape[0] < 2:
        raise InvalidInputError("fitting a map needs at least 2 paired items")
    if canonical_metric(metric_source) == "cosine":
        x = normalize_rows(x)
    if canonical_metric(metric_target) == "cosine":
        y = normalize_rows(y)
    return x.astype(np.float64), y.astype(np.float64)


def fit_procrustes(
    source: np.ndarray,
    target: np.ndarray,
    *,
    metric_source: str = "cosine",
    metric_target: str = "cosine",
    dual: bool | None = None,
) -> ProcrustesMap:
    """Fit an orthogonal Procrustes map with isotropic scale, padding the smaller dimension.

    Parameters
    ----------
    source : array of shape (n, d_s)
    target : array of shape (n, d_t)
    dual : bool, optional
        Solve through the n-sized factorisation of the rows instead of the
        (d_s, d_t) cross product; default when n < d_s (wide vectors, few items).
        Both give the same map on the span of the training rows; outside it the
        optimum is not unique, and the dual form maps that part to zero.
    """
    x, y = _inputs(source, target, metric_source, metric_target)
    mean_x, mean_y = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - mean_x, y - mean_y
    if _use_dual(dual, xc):
        rotation, singular = _procrustes_dual(xc, yc)
    else:
        u, singular, vt = np.linalg.svd(xc.T @ yc, full_matrices=False)
        rotation = u @ vt  # (d_s, d_t): zero-padding the smaller side gives the same optimum
    scale = float(singular.sum() / max(np.sum(xc**2), 1e-300))
    weight = scale * rotation
    bias = mean_y - mean_x @ weight
    normalize = canonical_metric(metric_source) == "cosine"
    return ProcrustesMap(normalize_input=normalize, arrays={"weight": weight, "bias": bias})


def _use_dual(dual: bool | None, xc: np.ndarray) -> bool:
    """The dual (n × n) form pays when there are fewer rows than source dimensions."""
    return xc.shape[0] < xc.shape[1] if dual is None else dual


def _procrustes_dual(xc: np.ndarray, yc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """U·Vᵀ and the singular values of Xcᵀ·Yc (d_s, d_t) from thin SVDs of n-sized factors.

    Xc = A·S·Bᵀ (thin, rank r ≤ n), so XcᵀYc = B·(S·AᵀYc) and the SVD of the
    (r, d_t) middle factor P·Σ·Qᵀ gives XcᵀYc = (B·P)·Σ·Qᵀ: O(n²·d) instead of O(d³).
    """
    a, s, bt = np.linalg.svd(xc, full_matrices=False)
    keep = s > s.max(initial=0.0) * 1e-12 * max(xc.shape)
    middle = s[keep, None] * (a[:, keep].T @ yc)
    p, sigma, qt = np.linalg.svd(middle, full_matrices=False)
    rank = sigma > sigma.max(initial=0.0) * 1e-12 * max(middle.shape)
    rotation = (bt[keep].T @ p[:, rank]) @ qt[rank]
    return rotation, sigma


@dataclass
class _LeastSquares:
    """Sufficient statistics of rows (x, y): count, sums, XᵀX and XᵀY (float64)."""

    n: int
    sum_x: np.ndarray
    sum_y: np.ndarray
    xtx: np.ndarray
    xty: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray) -> _LeastSquares:
        return cls(x.shape[0], x.sum(axis=0), y.sum(axis=0), x.T @ x, x.T @ y)

    def __sub__(self, other: _LeastSquares) -> _LeastSquares:
        return _LeastSquares(
            self.n - other.n,
            self.sum_x - other.sum_x,
            self.sum_y - other.sum_y,
            self.xtx - other.xtx,
            self.xty - other.xty,
        )

    def solve(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """Ridge weight (d_x, d_y) and bias (d_y,) with penalty alpha × mean feature variance."""
        mean_x, mean_y = self.sum_x / self.n, self.sum_y / self.n
        gram = self.xtx - self.n * np.outer(mean_x, mean_x)
        cross = self.xty - self.n * np.outer(mean_x, mean_y)
        penalty = alpha * np.trace(gram) / gram.shape[0]
        weight = np.linalg.solve(gram + penalty * np.eye(gram.shape[0]), cross)
        return weight, mean_y - mean_x @ weight

    def predict(self, alpha: float, x: np.ndarray) -> np.ndarray:
        """Predictions (m, d_y) of the ridge with penalty ``alpha`` for rows ``x`` (m, d_x)."""
        weight, bias = self.solve(alpha)
        return np.asarray(x @ weight + bias)


class _KernelRidge:
    """The same ridge solved in the dual: W = Xcᵀ·(Xc·Xcᵀ + λI)⁻¹·Yc, for n < d_x rows.

    One eigendecomposition of the (n, n) Gram matrix serves every penalty, so
    each candidate costs O(n·d_x·d_y) instead of a (d_x, d_x) solve.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.mean_x, self.mean_y = x.mean(axis=0), y.mean(axis=0)
        self.xc = x - self.mean_x
        gram = self.xc @ self.xc.T
        self.eigenvalues, vectors = np.linalg.eigh(gram)
        self.vectors = vectors
        self.projected = vectors.T @ (y - self.mean_y)  # (n, d_y)
        self.trace = float(np.trace(gram))  # = tr(XcᵀXc): the penalty scale is the primal's

    def solve(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """Ridge weight (d_x, d_y) and bias (d_y,), equal to :meth:`_LeastSquares.solve`'s."""
        penalty = alpha * self.trace / self.xc.shape[1]
        inverse = 1.0 / np.maximum(self.eigenvalues + penalty, 1e-300)
        weight = (self.xc.T @ self.vectors) @ (inverse[:, None] * self.projected)
        return weight, self.mean_y - self.mean_x @ weight

    def predict(self, alpha: float, x: np.ndarray) -> np.ndarray:
        """Predictions (m, d_y) for rows ``x`` (m, d_x) without forming the (d_x, d_y) weight."""
        penalty = alpha * self.trace / self.xc.shape[1]
        inverse = 1.0 / np.maximum(self.eigenvalues + penalty, 1e-300)
        kernel = ((x - self.mean_x) @ self.xc.T) @ self.vectors  # (m, n)
        return np.asarray(kernel @ (inverse[:, None] * self.projected) + self.mean_y)


def fit_ridge(
    source: np.ndarray,
    target: np.ndarray,
    *,
    metric_source: str = "cosine",
    metric_target: str = "cosine",
    seed: int = 0,
    dual: bool | None = None,
) -> RidgeMap:
    """Fit an affine least-squares map, choosing the penalty on a 10 % validation split.

    In the primal form XᵀX and XᵀY are computed once for the whole set and once
    for the validation part; every candidate penalty is then a (d_x × d_x)
    solve, not a pass over rows. With fewer rows than source dimensions
    (``dual`` None) or ``dual=True`` the same solution comes from the (n × n)
    kernel form (:class:`_KernelRidge`).
    """
    x, y = _inputs(source, target, metric_source, metric_target)
    use_dual = _use_dual(dual, x)
    whole: _LeastSquares | _KernelRidge = _KernelRidge(x, y) if use_dual else _LeastSquares.of(x, y)
    alpha = _choose_alpha(x, y, whole, seed)
    weight, bias = whole.solve(alpha)
    normalize = canonical_metric(metric_source) == "cosine"
    return RidgeMap(
        normalize_input=normalize,
        arrays={"weight": weight, "bias": bias, "alpha": np.array(alpha)},
    )


def _choose_alpha(
    x: np.ndarray, y: np.ndarray, whole: _LeastSquares | _KernelRidge, seed: int
) -> float:
    n = x.shape[0]
    if n < 20:
        return RIDGE_ALPHAS[-1]
    order = np.random.default_rng(seed).permutation(n)
    valid = order[: n // 10]
    train: _LeastSquares | _KernelRidge
    if isinstance(whole, _KernelRidge):
        train = _KernelRidge(x[np.sort(order[n // 10 :])], y[np.sort(order[n // 10 :])])
    else:
        train = whole - _LeastSquares.of(x[valid], y[valid])
    errors = []
    for alpha in RIDGE_ALPHAS:
        errors.append(float(np.mean((train.predict(alpha, x[valid]) - y[valid]) ** 2)))
    return RIDGE_ALPHAS[int(np.argmin(errors))]


def fit_mlp(
    source: np.ndarray,
    target: np.ndarray,
    *,
    metric_source: str = "cosine",
    metric_target: str = "cosine",
    hidden: int = 256,
    epochs: int = 10,
    seed: int = 0,
    ridge: RidgeMap | None = None,
) -> MLPMap:
    """Fit ridge, then train a one-hidden-layer ReLU residual on top of it (numpy, Adam).

    The residual's output layer starts at zero, so training starts from the
    ridge solution (``ridge`` when given, e.g. fitted on more rows). The loss
    is 1 − cosine for a cosine target, mean squared error otherwise. Plain
    numpy: no torch import (seconds) for a network this small.
    """
    if hidden < 1 or epochs < 1:
        raise InvalidInputError(f"hidden={hidden} and epochs={epochs} must be positive")
    if ridge is None:
        ridge = fit_ridge(
            source, target, metric_source=metric_source, metric_target=metric_target, seed=seed
        )
    x, y = _inputs(source, target, metric_source, metric_target)
    base = (x @ ridge.arrays["weight"] + ridge.arrays["bias"]).astype(np.float32)
    # float32 training halves the time; the stored weights are widened to float64
    x, y = x.astype(np.float32), y.astype(np.float32)
    net = _Residual(x.shape[1], hidden, y.shape[1], np.random.default_rng(seed))
    net.train(x, y, base, epochs=epochs, cosine=canonical_metric(metric_target) == "cosine")
    return MLPMap(normalize_input=ridge.normalize_input, arrays={**ridge.arrays, **net.weights()})


class _Residual:
    """relu(x·W₁ + b₁)·W₂ + b₂ trained by minibatch Adam with hand-written gradients."""

    def __init__(self, d_in: int, hidden: int, d_out: int, rng: np.random.Generator) -> None:
        bound = 1.0 / np.sqrt(d_in)  # torch.nn.Linear's default initialisation
        self.params = [
            rng.uniform(-bound, bound, size=(d_in, hidden)).astype(np.float32),
            rng.uniform(-bound, bound, size=hidden).astype(np.float32),
            np.zeros((hidden, d_out), dtype=np.float32),
            np.zeros(d_out, dtype=np.float32),
        ]
        self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in self.params]
        self.rng = rng
        self.steps = 0

    def weights(self) -> dict[str, np.ndarray]:
        names = ("w1", "b1", "w2", "b2")
        return {name: p.astype(np.float64) for name, p in zip(names, self.params, strict=True)}

    def train(
        self, x: np.ndarray, y: np.ndarray, base: np.ndarray, *, epochs: int, cosine: bool
    ) -> None:
        from threadpoolctl import threadpool_limits

        # Mini-batches of 256 rows make matmuls too small to share: BLAS threads gain
        # little on them and, on a busy machine, wait on each other (one-off, 2 cores
        # at load 4: 3.9-7.0 s for the 3,000-item migration with one thread, 9.8-27.5 s
        # with two). Same products, same order: the same figures.
        with threadpool_limits(limits=1, user_api="blas"):
            for _ in range(epochs):
                for batch in np.array_split(
                    self.rng.permutation(x.shape[0]), max(1, x.shape[0] // 256)
                ):
                    self._step(x[batch], y[batch], base[batch], cosine)

    def _step(self, x: np.ndarray, y: np.ndarray, base: np.ndarray, cosine: bool) -> None:
        w1, b1, w2, b2 = self.params
        pre = x @ w1 + b1
        hidden = np.maximum(pre, 0.0)
        pred = base + hidden @ w2 + b2
        grad_pred = _loss_gradient(pred, y, cosine)
        grad_hidden = (grad_pred @ w2.T) * (pre > 0)
        grads = [x.T @ grad_hidden, grad_hidden.sum(0), hidden.T @ grad_pred, grad_pred.sum(0)]
        self._adam(grads)

    def _adam(self, grads: list[np.ndarray], lr: float = 1e-3) -> None:
        self.steps += 1
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        for param, grad, (m, v) in zip(self.params, grads, self.moments, strict=True):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad**2
            m_hat = m / (1 - beta1**self.steps)
            v_hat = v / (1 - beta2**self.steps)
            param -= lr * m_hat / (np.sqrt(v_hat) + eps)


def _loss_gradient(pred: np.ndarray, y: np.ndarray, cosine: bool) -> np.ndarray:
    """Gradient of mean(1 − cos(pred, y)) or of mean((pred − y)²) with respect to pred."""
    if not cosine:
        return 2.0 * (pred - y) / pred.size
    p_norm = np.maximum(np.linalg.norm(pred, axis=1, keepdims=True), 1e-12)
    y_norm = np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
    cos = np.sum(pred * y, axis=1, keepdims=True) / (p_norm * y_norm)
    return -(y / (p_norm * y_norm) - cos * pred / p_norm**2) / pred.shape[0]


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
        return fit_procrustes(
            source, target, metric_source=metric_source, metric_target=metric_target
        )
    if kind == "ridge":
        return fit_ridge(
            source, target, metric_source=metric_source, metric_target=metric_target, seed=seed
        )
    if kind == "mlp":
        return fit_mlp(
            source, target, metric_source=metric_source, metric_target=metric_target, seed=seed
        )
    raise InvalidInputError(f"map kind {kind!r} is not known; use one of {', '.join(MAP_KINDS)}")


def describe(fitted: Map) -> dict[str, Any]:
    """Plain description of a fitted map (kind and dimensions)."""
    return {"kind": fitted.kind, "dim_in": fitted.dim_in, "dim_out": fitted.dim_out}
