"""Concurrent clients: gathered into batches, never mixed up, and an alias moved under load."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import embver
from embver.serve.batching import Batcher
from embver.serve.pool import ModelPool

THREADS = 32


def _openai(url):
    from openai import OpenAI

    return OpenAI(base_url=f"{url}/v1", api_key="unused-on-loopback", max_retries=0)


def test_32_threads_of_mixed_inputs_each_get_their_own_vectors(served, bbc, encoded):
    url, app, _ = served
    stats = app.state.service.batcher.stats
    calls_before, requests_before = stats.calls, stats.requests
    refs = ["news@1.0.0", "news@1.1.0", "news@1.0.1"]
    rng = np.random.default_rng(0)
    jobs = [
        (refs[j % 3], rng.choice(len(bbc), size=int(rng.integers(1, 6)), replace=False))
        for j in range(THREADS * 4)
    ]

    def ask(job):
        ref, rows = job
        client = _openai(url)
        response = client.embeddings.create(
            model=ref, input=[bbc.text[int(i)] for i in rows], encoding_format="float"
        )
        return ref, rows, response

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(ask, jobs))
    for ref, rows, response in answers:
        assert response.model == ref
        got = np.array([d.embedding for d in response.data], np.float32)
        np.testing.assert_allclose(got, encoded[ref][rows], atol=1e-5)
    calls = stats.calls - calls_before
    assert stats.requests - requests_before == len(jobs)
    assert calls < len(jobs) * 0.75, f"{len(jobs)} requests took {calls} encode calls"


def test_moving_the_alias_mid_load_switches_the_model_without_errors(served, bbc, encoded):
    """32 clients ask for news@production without pause; the alias moves once THREADS
    answers came back. Answers received before the move are 1.0.0, requests sent after it
    are 1.1.0 (counted, not timed: a busy machine answers slowly but in this order)."""
    url, _, store = served
    errors: list[BaseException] = []
    seen: list[tuple[float, float, str, int, np.ndarray]] = []
    stop = threading.Event()
    lock = threading.Lock()

    def hammer(worker: int):
        client = _openai(url)
        row = worker % len(bbc)
        while not stop.is_set():
            sent = time.monotonic()
            try:
                r = client.embeddings.create(
                    model="news@production", input=[bbc.text[row]], encoding_format="float"
                )
            except Exception as exc:  # every failure is reported below
                errors.append(exc)
                return
            vector = np.array(r.data[0].embedding, np.float32)
            with lock:
                seen.append((sent, time.monotonic(), r.model, row, vector))

    def wait_for(condition, seconds=120):
        deadline = time.monotonic() + seconds
        while not condition() and not errors:
            assert time.monotonic() < deadline, f"only {len(seen)} answers in {seconds} s"
            time.sleep(0.05)

    threads = [threading.Thread(target=hammer, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(seen) >= THREADS)
        moving = time.monotonic()
        store.set_alias("news", "production", "1.1.0", reason="serve test: promote CLS")
        moved = time.monotonic()
        wait_for(lambda: sum(s[0] > moved for s in list(seen)) >= THREADS)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
        store.set_alias("news", "production", "1.0.0", reason="serve test: back")
    assert errors == []
    before = [s for s in seen if s[1] < moving]
    after = [s for s in seen if s[0] > moved]
    assert len(before) >= THREADS and len(after) >= THREADS
    assert {s[2] for s in before} == {"news@1.0.0"}
    assert {s[2] for s in after} == {"news@1.1.0"}
    for _, _, model, row, vector in seen:  # whichever version answered, its vectors are its own
        np.testing.assert_allclose(vector, encoded[model][row], atol=1e-5)


def _digest_vectors(key, texts):
    """A real, deterministic stand-in for a model: each text's sha256 as 8 floats, and its
    length; the key is folded in so a batch mixing keys would show."""
    rows = [np.frombuffer(hashlib.sha256(f"{key}|{t}".encode()).digest(), "<f4") for t in texts]
    time.sleep(0.005)  # a forward pass takes time: requests queue meanwhile
    return np.stack(rows).astype(np.float32), np.array([len(t) for t in texts], np.int64)


def test_the_batcher_gathers_up_to_max_batch_and_hands_back_each_requests_rows():
    batcher = Batcher(_digest_vectors, max_batch=16, max_wait=0.002)
    requests = [(f"k{i % 2}", [f"text {i}-{j}" for j in range(1 + i % 4)]) for i in range(100)]

    async def all_of_them():
        return await asyncio.gather(*(batcher.encode(k, texts) for k, texts in requests))

    answers = asyncio.run(all_of_them())
    batcher.close()
    for (key, texts), (vectors, lengths) in zip(requests, answers, strict=True):
        expected, expected_lengths = _digest_vectors(key, texts)
        np.testing.assert_array_equal(vectors, expected)
        np.testing.assert_array_equal(lengths, expected_lengths)
    assert batcher.stats.requests == 100 and batcher.stats.largest <= 16
    assert batcher.stats.calls <= 100 * 2.5 / 16 + 4  # 250 inputs in batches near 16


def test_an_encode_failure_reaches_every_request_of_its_batch_only():
    def encode(key, texts):
        if any("boom" in t for t in texts):
            raise ValueError("the model failed on this batch")
        return _digest_vectors(key, texts)

    batcher = Batcher(encode, max_batch=4, max_wait=0.01)

    async def both():
        return await asyncio.gather(
            batcher.encode("bad", ["boom"]),
            batcher.encode("bad", ["fine"]),
            batcher.encode("good", ["fine"]),
            return_exceptions=True,
        )

    bad, also_bad, good = asyncio.run(both())
    batcher.close()
    assert isinstance(bad, ValueError) and isinstance(also_bad, ValueError)
    np.testing.assert_array_equal(good[0], _digest_vectors("good", ["fine"])[0])


def test_versions_sharing_a_model_share_one_instance_and_the_lru_drops_the_oldest(news_root):
    with embver.open(news_root) as store:
        v100, v101, v110 = (store.get(f"news@{n}") for n in ("1.0.0", "1.0.1", "1.1.0"))
        assert v100.model_digest == v110.model_digest != v101.model_digest
        pool = ModelPool(max_models=1)
        mean, cls = pool.encoder(v100), pool.encoder(v110)
        assert pool.loaded() == [v100.model_digest]
        assert mean._encoder is cls._encoder and mean.extraction != cls.extraction
        assert pool.encoder(v100) is mean  # cached while its model stays
        pool.encoder(v101)
        assert pool.loaded() == [v101.model_digest]
        again = pool.encoder(v100)
        assert again is not mean and pool.loaded() == [v100.model_digest]
        text = ["Markets rallied as the central bank held rates."]
        np.testing.assert_allclose(again.encode(text), v100.encoder().encode(text), atol=1e-6)
        with pytest.raises(embver.InvalidInputError, match="max_models=0"):
            ModelPool(max_models=0)


def test_a_lone_request_encodes_at_once_and_requests_arriving_meanwhile_form_one_batch():
    """An idle encode thread takes the request now (no ``max_wait``: 30 s here would fail
    the 10 s bound); the three sent while it encodes wait for it and go as one batch."""

    def slow(key, texts):
        time.sleep(0.3)
        return _digest_vectors(key, texts)

    batcher = Batcher(slow, max_batch=16, max_wait=30.0)

    async def story():
        first = asyncio.create_task(batcher.encode("k", ["alone"]))
        await asyncio.sleep(0.05)  # the first is encoding now
        later = [asyncio.create_task(batcher.encode("k", [f"t{i}"])) for i in range(3)]
        return await asyncio.wait_for(asyncio.gather(first, *later), timeout=10)

    answers = asyncio.run(story())
    batcher.close()
    np.testing.assert_array_equal(answers[0][0], _digest_vectors("k", ["alone"])[0])
    assert (batcher.stats.calls, batcher.stats.largest) == (2, 3)
