"""Pure domain: semantic versions, recipes, bump rules, validation, names.

Nothing here does I/O or imports heavy libraries; everything else imports it.
"""

from embver.core.bump import Bump, allocate_number, bump_reasons, check_declared_bump, derive_bump
from embver.core.recipe import Context, Recipe, canonical_json, fingerprint
from embver.core.refs import Ref, parse_ref, validate_alias_name, validate_space_name
from embver.core.semver import SemVer, parse_version

__all__ = [
    "Bump",
    "Context",
    "Recipe",
    "Ref",
    "SemVer",
    "allocate_number",
    "bump_reasons",
    "canonical_json",
    "check_declared_bump",
    "derive_bump",
    "fingerprint",
    "parse_ref",
    "parse_version",
    "validate_alias_name",
    "validate_space_name",
]
