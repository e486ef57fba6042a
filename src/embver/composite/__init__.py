"""Composite spaces: embeddings built from other spaces' versions.

>>> store.composite("product", components=[("title", "production"), ("photo", "2.1.0")],
...                 combiner=embver.Concat(normalize="l2", weights=(1.0, 0.5)))  # doctest: +SKIP
>>> store.impact("title@1.2.0").rows                                             # doctest: +SKIP
>>> store.rebuild("product")                                                     # doctest: +SKIP

Names load on first use (numpy, the store). ``impact`` is also the name of the
submodule :mod:`embver.composite.impact`: import the function from there, since once
that submodule is loaded the package attribute of that name is the module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver._lazy import lazy_exports

if TYPE_CHECKING:
    from embver.composite.build import define, fitted_of, rebuild, zero_fill_mask
    from embver.composite.combiners import Combiner, Concat, Fitted, LearnedProjection, Mean
    from embver.composite.definition import (
        Component,
        CompositeDefinition,
        all_definitions,
        load_definition,
    )
    from embver.composite.impact import Impact, ImpactRow, impact

_EXPORTS = {
    "define": "embver.composite.build",
    "fitted_of": "embver.composite.build",
    "rebuild": "embver.composite.build",
    "zero_fill_mask": "embver.composite.build",
    "Combiner": "embver.composite.combiners",
    "Concat": "embver.composite.combiners",
    "Fitted": "embver.composite.combiners",
    "LearnedProjection": "embver.composite.combiners",
    "Mean": "embver.composite.combiners",
    "Component": "embver.composite.definition",
    "CompositeDefinition": "embver.composite.definition",
    "all_definitions": "embver.composite.definition",
    "load_definition": "embver.composite.definition",
    "Impact": "embver.composite.impact",
    "ImpactRow": "embver.composite.impact",
    "impact": "embver.composite.impact",
}

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


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
