"""The body of ``POST /v1/embeddings``, read and checked field by field.

Every refusal is an :class:`~embver.errors.InvalidInputError` naming the field and the
value, which the app answers with 400: a client's mistake is never a 500.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np

from embver.errors import InvalidInputError

ENCODING_FORMATS = ("float", "base64")


@dataclass(frozen=True)
class Limits:
    """How large a request may be.

    Parameters
    ----------
    max_inputs
        Inputs in one request.
    max_chars
        Characters in one input.
    """

    max_inputs: int = 512
    max_chars: int = 20_000


@dataclass(frozen=True)
class EmbeddingRequest:
    """A checked request: what to encode, with which version, and how to answer."""

    inputs: list[str]
    model: str
    encoding_format: str = "float"
    dimensions: int | None = None
    target: str | None = None

    @classmethod
    def from_body(cls, body: object, limits: Limits) -> EmbeddingRequest:
        """Read the JSON ``body`` (OpenAI's fields plus ``target``), within ``limits``."""
        if not isinstance(body, dict):
            raise InvalidInputError(
                f"the body must be a JSON object, not {type(body).__name__}: "
                '{"model": "space@alias", "input": ["text", ...]}'
            )
        return cls(
            inputs=_inputs(body.get("input"), limits),
            model=_reference(body.get("model"), "model", required=True) or "",
            encoding_format=_encoding_format(body.get("encoding_format")),
            dimensions=_dimensions(body.get("dimensions")),
            target=_reference(body.get("target"), "target", required=False),
        )


def _inputs(value: Any, limits: Limits) -> list[str]:
    if value is None:
        raise InvalidInputError("field 'input' is required: a string or a list of strings")
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list):
        raise InvalidInputError(
            f"field 'input' must be a string or a list of strings, not {type(value).__name__}"
        )
    if not texts:
        raise InvalidInputError("field 'input' is an empty list: send at least one string")
    if len(texts) > limits.max_inputs:
        raise InvalidInputError(
            f"field 'input' has {len(texts)} strings; at most {limits.max_inputs} per request "
            "(split it into several requests)"
        )
    for position, text in enumerate(texts):
        _check_text(position, text, limits)
    return texts


def _check_text(position: int, text: Any, limits: Limits) -> None:
    if isinstance(text, int) or (isinstance(text, list) and text and isinstance(text[0], int)):
        raise InvalidInputError(
            f"input {position} is a token array: send text (strings); embver encodes each "
            "version with its own tokenizer"
        )
    if not isinstance(text, str):
        raise InvalidInputError(f"input {position} is {type(text).__name__}, not a string")
    if not text.strip():
        raise InvalidInputError(f"input {position} is empty: send text to embed")
    if len(text) > limits.max_chars:
        raise InvalidInputError(
            f"input {position} has {len(text)} characters; at most {limits.max_chars}"
        )


def _reference(value: Any, name: str, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(
            f"field {name!r} must name a version, e.g. 'news@production', 'news@1.2' or "
            f"'news@1.0.3', not {value!r}"
        )
    return value.strip()


def _encoding_format(value: Any) -> str:
    if value is None:
        return "float"
    if value not in ENCODING_FORMATS:
        raise InvalidInputError(
            f"field 'encoding_format' is {value!r}; use one of {', '.join(ENCODING_FORMATS)}"
        )
    return str(value)


def _dimensions(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"field 'dimensions' must be a positive integer, not {value!r}")
    return value


def check_dimensions(request: EmbeddingRequest, ref: str, dim: int) -> None:
    """InvalidInputError unless the request's ``dimensions`` (if any) is ``dim``."""
    if request.dimensions is not None and request.dimensions != dim:
        raise InvalidInputError(
            f"field 'dimensions' is {request.dimensions}, but {ref} gives {dim}-d vectors "
            "and cannot shorten them; omit 'dimensions' or send it as "
            f"{dim}"
        )


def encoded(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    """One vector as OpenAI sends it: a list of floats, or base64 of little-endian float32."""
    if encoding_format == "base64":
        return base64.b64encode(np.asarray(vector, "<f4").tobytes()).decode("ascii")
    return np.asarray(vector, np.float32).tolist()
