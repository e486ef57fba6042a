import pytest

from embver.core import SemVer, parse_ref, parse_version
from embver.errors import InvalidInputError, VersionStringError


@pytest.mark.parametrize("text", ["0.0.0", "1.2.3", "10.20.30", "999.0.1"])
def test_parse_and_format_round_trip(text):
    assert str(parse_version(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "1.2",
        "1",
        "1.2.3.4",
        "latest",
        "",
        "v1.2.3",
        "1.2.3-rc1",
        "-1.2.3",
        "1..3",
        " ",
    ],
)
def test_strict_parsing_refuses(text):
    with pytest.raises(VersionStringError, match="MAJOR.MINOR.PATCH"):
        parse_version(text)


def test_non_string_refused():
    with pytest.raises(VersionStringError):
        parse_version(123)  # type: ignore[arg-type]


def test_order_is_numeric_not_lexical():
    versions = [parse_version(t) for t in ["1.10.0", "1.2.0", "1.2.10", "1.2.9", "0.9.9", "10.0.0"]]
    assert [str(v) for v in sorted(versions)] == [
        "0.9.9",
        "1.2.0",
        "1.2.9",
        "1.2.10",
        "1.10.0",
        "10.0.0",
    ]


def test_semver_refuses_negative_parts():
    with pytest.raises(VersionStringError):
        SemVer(1, -1, 0)


@pytest.mark.parametrize(
    ("text", "kind", "detail"),
    [
        ("stop-signs@1.2.3", "version", SemVer(1, 2, 3)),
        ("stop-signs@best", "alias", "best"),
        ("stop-signs@latest", "latest", None),
        ("stop-signs", "latest", None),
        ("stop-signs@1.2", "prefix", (1, 2)),
        ("stop-signs@1", "prefix", (1,)),
    ],
)
def test_references(text, kind, detail):
    ref = parse_ref(text)
    assert ref.space == "stop-signs"
    assert ref.kind == kind
    if kind == "version":
        assert ref.version == detail
    if kind == "alias":
        assert ref.alias == detail
    if kind == "prefix":
        assert ref.prefix == detail


@pytest.mark.parametrize(
    "text", ["s@01.2.3", "s@1.2.3.4", "s@1.2.x", "s@Best!", "Bad Space@1.0.0", "@1.0.0", "s@"]
)
def test_bad_references(text):
    with pytest.raises(InvalidInputError):
        parse_ref(text)
