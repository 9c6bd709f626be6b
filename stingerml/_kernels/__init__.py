"""Backend selection for the hot loops.

``pure`` is the reference; ``jit`` (numba) defines the same functions. The
backend is picked once from ``STINGERML_BACKEND`` (``python``, ``numba`` or
``auto``, the default: numba when importable) and can be changed with
:func:`set_backend`. Callers use ``kernels()`` to get the active module, and
``firmware_kernels()`` for the firmware emulation's (``firmware_pure`` or its
twin ``firmware_jit``, following the same choice).
"""
from __future__ import annotations

import os
from types import ModuleType
from typing import Optional

from . import pure

_active: Optional[ModuleType] = None
_name = "python"


def set_backend(name: str) -> str:
    """Select ``"python"``, ``"numba"`` or ``"auto"``; returns the backend now active."""
    global _active, _name
    if name not in ("python", "numba", "auto"):
        raise ValueError(f"unknown backend {name!r}; use python, numba or auto")
    if name == "python":
        _active, _name = pure, "python"
        return _name
    try:
        from . import jit  # noqa: F401  (imports numba)
    except ImportError as exc:
        if name == "numba":
            raise ImportError(
                f"the numba backend needs numba: pip install 'stingerml[fast]' ({exc})"
            ) from exc
        _active, _name = pure, "python"
        return _name
    _active, _name = jit, "numba"
    return _name


def backend() -> str:
    """Name of the active backend (``"python"`` or ``"numba"``)."""
    kernels()
    return _name


def kernels() -> ModuleType:
    """The active kernel module, selecting from the environment on first use."""
    if _active is None:
        set_backend(os.environ.get("STINGERML_BACKEND", "auto").strip().lower() or "auto")
    return _active  # type: ignore[return-value]


def firmware_kernels() -> ModuleType:
    """The active backend's firmware kernels: ``firmware_pure`` or ``firmware_jit``."""
    if kernels() is pure:
        from . import firmware_pure

        return firmware_pure
    from . import firmware_jit

    return firmware_jit
