"""Old module paths and old call forms, kept working until ``REMOVED_IN`` with a ``DeprecationWarning``.

The package was reorganised into layers (docs/architecture.md). ``MOVED`` maps
every old dotted path to its new home; a finder on ``sys.meta_path`` makes
``import stingerml.blaster.log`` (an old path) return the very module object of
``stingerml.blaster.log``, so attributes, identity and monkeypatching agree,
and warns once per import. ``tools/rewrite_imports.py`` rewrites code to the
new paths from the same map.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from typing import Dict, Optional, Tuple

REMOVED_IN = "0.3"

_BLASTER = ("app_import", "benchmark", "dataset", "features", "firmware", "folder_dataset", "golden",
            "holdout", "loader", "log", "logreg", "mlp", "modeldiff", "online", "plots", "quality",
            "report_html", "sessions", "settings", "shots", "synth", "traces", "trainfolder")
_CORE = ("constants", "dense", "errors", "jsmath", "matrix", "progress", "rng")

MOVED: Dict[str, str] = {
    **{f"stingerml.{name}": f"stingerml.blaster.{name}" for name in _BLASTER},
    **{f"stingerml.{name}": f"stingerml.core.{name}" for name in _CORE},
    "stingerml._atomic": "stingerml.core.atomic",
    "stingerml._binary": "stingerml.core.binary",
    "stingerml._deprecation": "stingerml._compat",
    "stingerml._jsmath_jit": "stingerml._kernels.jsmath_jit",
    "stingerml._rng_jit": "stingerml._kernels.rng_jit",
    "stingerml.scaler": "stingerml.learn.scaler",
    "stingerml.metrics": "stingerml.learn.metrics",
    "stingerml._estimator": "stingerml.learn.estimator",
    "stingerml.executors": "stingerml.learn.executors",
    "stingerml.quantize": "stingerml.deploy.quantize",
    "stingerml.formats.deploy": "stingerml.deploy.export",
    "stingerml.formats.from_sklearn": "stingerml.deploy.from_sklearn",
    "stingerml.formats.blaster": "stingerml.blaster.network",
    "stingerml.trainers.blaster": "stingerml.blaster.trainer",
    "stingerml.trainers.tasks": "stingerml.blaster.tasks",
    "stingerml.trainers.tabular": "stingerml.tabular",
    "stingerml.tabular.split": "stingerml.learn.split",  # shared with the sequence trainer (issue 27)
    "stingerml.tabular.evaluation": "stingerml.learn.metrics",
    "stingerml.learn.evaluation": "stingerml.learn.metrics",  # one metrics module (issue 23)
    "stingerml.trainers": "stingerml.trainers",  # a package that no longer exists: see _Alias
    # moved in earlier releases
    "stingerml.mlmd": "stingerml.formats.mlmd",
    "stingerml.header": "stingerml.formats.header",
    "stingerml.pipeline": "stingerml.blaster.trainer",
    "stingerml.export": "stingerml.blaster.folder_dataset",
}
"""Old dotted path → new dotted path (a prefix match: ``stingerml.trainers.tabular.runs`` → ``stingerml.tabular.runs``)."""

NAMES_MOVED: Dict[Tuple[str, str], str] = {
    ("stingerml.quantize", "QuantizedNetwork"): "stingerml.core.quantized",
    ("stingerml.quantize", "QuantizedLayer"): "stingerml.core.quantized",
    ("stingerml.quantize", "round_half_away"): "stingerml.core.quantized",
    ("stingerml.holdout", "take_rows"): "stingerml.core.matrix",
}
"""(old module, name) → the module that defines the name now, where a module was split
(the old module still offers the name)."""

_EMPTY_PACKAGES = {"stingerml.trainers"}


def new_path(dotted: str) -> str:
    """The current path of an old dotted path (unchanged when it did not move)."""
    for _ in range(len(MOVED)):  # a path may have moved twice (trainers.tabular.x → tabular.x → ...)
        best = max((old for old in MOVED if dotted == old or dotted.startswith(old + ".")), key=len, default=None)
        if best is None or MOVED[best] == best:
            return dotted
        dotted = MOVED[best] + dotted[len(best):]
    return dotted


def deprecated(message: str, stacklevel: int = 3) -> None:
    """A :class:`DeprecationWarning` for a call form that keeps working until ``REMOVED_IN``."""
    warnings.warn(f"{message} (deprecated; removed in stingerml {REMOVED_IN})", DeprecationWarning,
                  stacklevel=stacklevel)


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds old paths: the module object of the new path (an empty package for a retired package).

    First on ``sys.meta_path``, so that ``stingerml.tabular.runs`` is the module object of
    ``stingerml.tabular.runs`` rather than a second copy found through the parent's ``__path__``.
    """

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> Optional["ModuleSpec"]:  # noqa: F821
        if not fullname.startswith("stingerml.") or (new_path(fullname) == fullname
                                                     and fullname not in _EMPTY_PACKAGES):
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=fullname in _EMPTY_PACKAGES)

    def create_module(self, spec: "ModuleSpec") -> None:  # noqa: F821
        return None  # a placeholder module: exec_module replaces it in sys.modules

    def exec_module(self, module: "ModuleType") -> None:  # noqa: F821
        name = module.__name__
        if name in _EMPTY_PACKAGES:
            module.__path__ = []  # type: ignore[attr-defined]
            return
        new = new_path(name)
        deprecated(f"the module {name} moved to {new}; import that", stacklevel=7)
        sys.modules[name] = importlib.import_module(new)


def install() -> None:
    """Put the old-path finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.insert(0, _Alias())
