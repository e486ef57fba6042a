"""``python -m embver.cli``: the same as the ``embver`` script."""

from embver.cli import main

main()
