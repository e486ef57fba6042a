"""Who did it: the one default for a version's author and an alias move's actor."""

from __future__ import annotations


def default_actor() -> str:
    """The operating-system user name (``"unknown"`` when the system cannot say).

    Registration records it as the author when none is given, and alias moves as
    their actor, so ``embver show`` and ``embver alias history`` name the same person.
    """
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # getuser raises OSError or KeyError when no name is set up
        return "unknown"
