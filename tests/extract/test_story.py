"""The real demo story, at a tiny size: four versions whose bumps are derived, and `best`."""

from __future__ import annotations

import re


def test_demo_story_at_a_tiny_size(tmp_path, capsys):
    from embver.demo import run_demo

    lines: list[str] = []
    announced: list[str] = []
    store = run_demo(
        tmp_path / "demo",
        echo=lines.append,
        announce=announced.append,
        per_topic=4,
        train_size=16,
        steps=2,
        progress=True,
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
    # every step is announced as it starts, fine-tuning included, and fine-tuning shows a
    # bar on stderr (steps done of all, elapsed time, loss) like embedding does
    assert announced[0].startswith("reading 20 BBC articles")
    assert [s for s in announced if s.startswith(("fine-tuning", "saving"))] == [
        "fine-tuning minilm-bbc",
        "saving minilm-bbc",
        "fine-tuning minilm-l3-bbc",
        "saving minilm-l3-bbc",
    ]
    assert sum(s.startswith("embedding 20 articles") for s in announced) == 4
    bars = capsys.readouterr().err
    for name in ("minilm-bbc", "minilm-l3-bbc"):
        assert re.search(rf"fine-tuning {name}: 100%.* 2/2 \[\d\d:\d\d<.*loss=\d\.\d\d", bars)
    assert re.search(r"the story took \d+ s", text)
