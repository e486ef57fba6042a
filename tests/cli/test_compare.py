"""``embver compare`` and ``embver adapter`` (embver.cli.compare)."""

from __future__ import annotations

import pytest

from embver.errors import InvalidInputError


def test_cli_refuses_a_bad_k_list():
    from embver.cli.compare import parse_ks

    with pytest.raises(InvalidInputError, match="--k 'ten'"):
        parse_ks("ten")
