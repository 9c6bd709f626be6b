"""Find a public trainer function wherever the package keeps it.

``stingerml.pipeline`` holds the blaster trainer today; issue 14 moves it under
``stingerml.trainers``. Tests that need a public function of it that is not
re-exported from ``stingerml`` look it up here by name, so they survive the move.
"""
from __future__ import annotations

import importlib
import pkgutil


def public(name: str):
    """The trainer's public attribute ``name`` (AssertionError when no module defines it)."""
    candidates = ["stingerml.pipeline", "stingerml.trainers"]
    try:
        trainers = importlib.import_module("stingerml.trainers")
        candidates += [f"stingerml.trainers.{m.name}" for m in pkgutil.iter_modules(trainers.__path__)]
    except ImportError:
        pass
    for module_name in candidates:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, name):
            return getattr(module, name)
    raise AssertionError(f"no public {name} in {candidates}")
