"""Pooling token sequences and feature maps into one vector per item (torch).

The token poolings follow sentence-transformers' ``Pooling`` module formula for
formula, so that a translated sentence-transformers model gives the same vectors.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from embver.errors import InvalidInputError


def pool_tokens(
    hidden: torch.Tensor,
    attention_mask: torch.Tensor,
    modes: Sequence[str],
    pooler_output: torch.Tensor | None = None,
) -> torch.Tensor:
    """Pool token vectors into one vector per sequence.

    Parameters
    ----------
    hidden : tensor of shape (batch, tokens, width)
    attention_mask : tensor of shape (batch, tokens), 1 for real tokens
    modes : pooling modes, concatenated in the given order
    pooler_output : tensor of shape (batch, width), the model's pooler head

    Returns
    -------
    tensor of shape (batch, width * len(modes))
    """
    return torch.cat([_pool_one(hidden, attention_mask, m, pooler_output) for m in modes], dim=-1)


def _pool_one(
    hidden: torch.Tensor, mask: torch.Tensor, mode: str, pooler_output: torch.Tensor | None
) -> torch.Tensor:
    if mode == "pooler":
        if pooler_output is None:
            raise InvalidInputError(
                "extraction pooling 'pooler' needs a model with a pooler head; this model has "
                "none — use cls or mean"
            )
        return pooler_output
    if mode == "cls":
        first = mask.to(torch.int).argmax(dim=1)  # first real token, also under left padding
        return hidden[torch.arange(hidden.shape[0]), first]
    if mode == "max":
        return hidden.masked_fill(mask.unsqueeze(-1) == 0, float("-inf")).max(dim=1).values
    if mode in ("mean", "mean-sqrt-len"):
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        total = (hidden * weights).sum(dim=1)
        count = torch.clamp(weights.sum(dim=1), min=1e-9)
        return total / (count if mode == "mean" else torch.sqrt(count))
    if mode == "weighted-mean":
        weights = torch.arange(1, hidden.shape[1] + 1, dtype=hidden.dtype).view(1, -1, 1)
        weights = weights - mask.to(torch.int32).argmax(dim=1).view(-1, 1, 1)
        weighted = mask.unsqueeze(-1).to(hidden.dtype) * weights
        return (hidden * weighted).sum(dim=1) / torch.clamp(weighted.sum(dim=1), min=1e-9)
    if mode == "last-token":
        last = mask.shape[1] - 1 - mask.flip(1).to(torch.int).argmax(dim=1)
        return hidden[torch.arange(hidden.shape[0]), last]
    raise InvalidInputError(f"pooling {mode!r} does not apply to token sequences")


def pool_feature_map(output: torch.Tensor, modes: Sequence[str]) -> torch.Tensor:
    """Pool a model output of shape (batch, channels, *spatial) or (batch, width).

    ``mean``/``max`` reduce the spatial axes; ``none`` flattens what is there.
    """
    parts = []
    for mode in modes:
        if mode == "none" or output.dim() == 2:
            if mode not in ("none", "mean", "max"):
                raise InvalidInputError(f"pooling {mode!r} does not apply to a module output")
            parts.append(output.flatten(1))
        elif mode == "mean":
            parts.append(output.flatten(2).mean(dim=2))
        elif mode == "max":
            parts.append(output.flatten(2).max(dim=2).values)
        else:
            raise InvalidInputError(
                f"pooling {mode!r} does not apply to a feature map; use mean, max or none"
            )
    return torch.cat(parts, dim=-1)
