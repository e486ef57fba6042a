from dataclasses import replace

import pytest

from embver.core import (
    Bump,
    Recipe,
    allocate_number,
    bump_reasons,
    check_declared_bump,
    derive_bump,
    parse_version,
)
from embver.errors import BumpConflictError, InvalidInputError

BASE = Recipe(architecture="bert-6l", extraction="mean", weights="w1", dim=384)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"architecture": "bert-12l"}, Bump.MAJOR),
        ({"dim": 768}, Bump.MAJOR),
        ({"metric": "l2"}, Bump.MAJOR),
        ({"architecture": "x", "extraction": "cls", "weights": "w2"}, Bump.MAJOR),
        ({"extraction": "cls"}, Bump.MINOR),
        ({"dtype": "float16"}, Bump.MINOR),
        ({"extraction": "cls", "weights": "w2"}, Bump.MINOR),
        ({"weights": "w2"}, Bump.PATCH),
        ({}, Bump.NONE),
    ],
)
def test_derive_bump_follows_the_design_table(changes, expected):
    assert derive_bump(BASE, replace(BASE, **changes)) == expected


def test_context_changes_are_not_a_bump():
    assert derive_bump(BASE, BASE.with_context(notes="x", author="y")) == Bump.NONE


def test_first_version_is_major():
    assert derive_bump(None, BASE) == Bump.MAJOR


def test_reasons_name_what_changed_with_spec_details():
    parent = replace(BASE, specs={"extraction": {"pooling": "mean", "layers": [-1]}})
    child = replace(
        BASE, extraction="cls", specs={"extraction": {"pooling": "cls", "layers": [-1]}}
    )
    assert bump_reasons(parent, child) == ["extraction changed: pooling mean → cls ⇒ MINOR"]
    assert bump_reasons(BASE, replace(BASE, weights="w2")) == ["weights changed: w1 → w2 ⇒ PATCH"]


def test_declared_bump_that_contradicts_is_refused_with_the_reason():
    child = replace(BASE, weights="w2")
    reasons = bump_reasons(BASE, child)
    check_declared_bump("patch", Bump.PATCH, reasons)
    with pytest.raises(
        BumpConflictError, match="declared bump MINOR contradicts.*PATCH.*weights changed"
    ):
        check_declared_bump("minor", derive_bump(BASE, child), reasons)
    with pytest.raises(InvalidInputError):
        check_declared_bump("huge", Bump.PATCH, reasons)


def _v(texts):
    return [parse_version(t) for t in texts]


@pytest.mark.parametrize(
    ("parent", "bump", "existing", "expected"),
    [
        (None, Bump.MAJOR, [], "1.0.0"),
        ("1.1.0", Bump.PATCH, ["1.0.0", "1.1.0", "1.1.1"], "1.1.2"),
        ("1.1.0", Bump.MINOR, ["1.0.0", "1.1.0", "1.2.0"], "1.3.0"),
        ("1.1.0", Bump.MAJOR, ["1.0.0", "1.1.0", "3.0.0"], "4.0.0"),
        ("1.0.0", Bump.PATCH, ["1.0.0"], "1.0.1"),
        ("1.0.0", Bump.MINOR, ["1.0.0", "2.0.0", "2.5.0"], "1.1.0"),
        ("1.1.1", Bump.PATCH, ["1.0.0", "1.1.0", "1.1.1", "1.1.2"], "1.1.3"),
    ],
)
def test_allocation_takes_next_free_number_in_family(parent, bump, existing, expected):
    parent_version = parse_version(parent) if parent else None
    assert str(allocate_number(parent_version, bump, _v(existing))) == expected


def test_no_change_allocates_nothing():
    with pytest.raises(InvalidInputError):
        allocate_number(parse_version("1.0.0"), Bump.NONE, [])
