"""Deprecations: old call forms and old module paths keep working until ``REMOVED_IN``, with a warning."""
from __future__ import annotations

import importlib
import sys
import warnings

REMOVED_IN = "0.3"


def deprecated(message: str, stacklevel: int = 3) -> None:
    """A :class:`DeprecationWarning` for a call form that keeps working until ``REMOVED_IN``."""
    warnings.warn(f"{message} (deprecated; removed in stingerml {REMOVED_IN})", DeprecationWarning,
                  stacklevel=stacklevel)


def moved(old: str, new: str) -> None:
    """Make the module ``old`` (being imported) an alias of ``new``: the same module object, so
    attributes, identity and monkeypatching agree; warns once per import of the old path."""
    module = importlib.import_module(new)
    deprecated(f"the module {old} moved to {new}; import that", stacklevel=4)
    sys.modules[old] = module
