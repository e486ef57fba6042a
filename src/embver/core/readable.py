"""Recipes, contexts and verdicts in words, for people: ``embver show``, ``embver log`` and
the notebook display of versions and spaces share these (pure: no I/O)."""

from __future__ import annotations

from typing import Any

#: spec entries worth showing, in this order, and how (model configs hold dozens more)
SPEC_FORMATS = {
    "class": "{}",
    "model_type": "({})",
    "num_hidden_layers": "{} layers",
    "hidden_size": "hidden {}",
    "num_attention_heads": "{} heads",
    "module_count": "{} modules",
    "pooling": "pooling {}",
    "layers": "layers {}",
    "layer_combine": "layer_combine {}",
    "normalize": "normalize {}",
    "max_length": "max_length {}",
    "prefix": "prefix {}",
    "parameters": "{:,} parameters",
}
#: entries of a spec without any of the keys above (e.g. a composite's) shown at most
GENERIC_SHOWN = 6


def spec_text(fingerprint: str, spec: Any) -> str:
    """A fingerprint's structured spec in words; the fingerprint alone when the recipe
    holds no spec (vectors imported with identifiers only)."""
    if not isinstance(spec, dict) or not spec:
        return fingerprint
    known = [key for key in SPEC_FORMATS if key in spec and readable(spec[key], key)]
    if known:
        parts = [SPEC_FORMATS[key].format(plain(spec[key])) for key in known]
    else:
        known = [key for key, value in spec.items() if readable(value, key)][:GENERIC_SHOWN]
        parts = [f"{key} {plain(spec[key])}" for key in known]
    hidden = sum(1 for key, value in spec.items() if key not in known and value not in (None, ""))
    # "(bert)" glosses the class before it rather than being an entry of its own
    text = ", ".join(parts or [fingerprint]).replace(", (", " (")
    return text + (f"  (+{hidden} more in --json)" if hidden else "")


def readable(value: Any, key: str = "") -> bool:
    """Worth printing: set, short, and not a digest (those are for --json and diff)."""
    if value is None or value == "" or key == "digest":
        return False
    if isinstance(value, str):
        return len(value) <= 60 and not (len(value) == 24 and value.isalnum())
    return isinstance(value, (bool, int, float, list))


def plain(value: Any) -> Any:
    """Lists as ``a,b``, booleans as ``true``/``false``; numbers stay numbers."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return value


def context_items(context: dict[str, Any]) -> list[tuple[str, str]]:
    """The context fields a version was given (the author has its own line)."""
    items = []
    for key, value in context.items():
        if key == "author" or value in (None, "", {}, []):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        items.append((key.replace("_", " "), str(value)))
    return items


def verdict_line(verdict: dict[str, Any]) -> str:
    """``"breaking — but better on knn-accuracy (+0.360 [+0.310, +0.405])"``: the verdict's
    label and, when the default task was measured, whether the PATCH is also better."""
    label = str(verdict.get("label"))
    task = verdict.get("task")
    if not isinstance(task, dict) or "difference" not in task:
        return label
    interval = f"({task['difference']:+.3f} [{task['low']:+.3f}, {task['high']:+.3f}])"
    if not task["significant"]:
        return f"{label}; no significant difference on {task['name']} {interval}"
    better = task["difference"] > 0
    surprising = better == (label == "breaking")
    joint = " — but " if surprising else "; "
    return f"{label}{joint}{'better' if better else 'worse'} on {task['name']} {interval}"


def model_text(model: dict[str, Any] | None) -> str:
    """ "kept (<digest>, <size> MB)", a pointer's URI, or "not kept"."""
    if model is None:
        return "not kept"
    size = f"{model['bytes'] / 1e6:.1f} MB"
    if model["ref"]:
        return f"pointer {model['ref']} ({model['digest'][:12]}, {size})"
    return f"kept ({model['digest'][:12]}, {size})"
