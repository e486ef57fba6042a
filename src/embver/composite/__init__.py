"""Composite spaces: embeddings built from other spaces' versions.

>>> store.composite("product", components=[("title", "production"), ("photo", "2.1.0")],
...                 combiner=embver.Concat(normalize="l2", weights=(1.0, 0.5)))  # doctest: +SKIP
>>> store.impact("title@1.2.0").rows                                             # doctest: +SKIP
>>> store.rebuild("product")                                                     # doctest: +SKIP
"""

from embver.composite.build import define, fitted_of, rebuild, zero_fill_mask
from embver.composite.combiners import Combiner, Concat, Fitted, LearnedProjection, Mean
from embver.composite.definition import (
    Component,
    CompositeDefinition,
    all_definitions,
    load_definition,
)
from embver.composite.impact import Impact, ImpactRow, impact

__all__ = [
    "Combiner",
    "Component",
    "CompositeDefinition",
    "Concat",
    "Fitted",
    "Impact",
    "ImpactRow",
    "LearnedProjection",
    "Mean",
    "all_definitions",
    "define",
    "fitted_of",
    "impact",
    "load_definition",
    "rebuild",
    "zero_fill_mask",
]
