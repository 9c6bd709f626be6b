"""Backend selection for the hot loops.

``pure`` is the reference; ``jit`` (numba) defines the same functions. The
backend is picked once from ``STINGERML_BACKEND`` (``python``, ``numba`` or
``auto``, the default: numba when importable) and can be changed with
:func:`set_backend`. Callers use ``kernels()`` to get the active module, and
``firmware_kernels()`` for the firmware emulation's (``firmware_pure`` or its
twin ``firmware_jit``, following the same choice), and ``tabular_kernels()``
for the tabular trainer's (``tabular_pure`` or ``tabular_jit``).

The pure MLP may share its work with a second process (:mod:`.peer`):
``STINGERML_PROCESSES`` (``auto``, ``1`` or ``2``) or :func:`set_processes`.
"""
from __future__ import annotations

import os
from types import ModuleType
from typing import Optional, Union

from . import pure

_active: Optional[ModuleType] = None
_name = "python"
_processes: Optional[Union[int, str]] = None


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


def prestart_helper() -> None:
    """Before a training run: start the pure MLP's helper process now, if it will be used,
    so that its start-up overlaps featurizing (:func:`.peer.prestart`)."""
    if kernels() is pure:
        from . import peer

        peer.prestart()


def firmware_kernels() -> ModuleType:
    """The active backend's firmware kernels: ``firmware_pure`` or ``firmware_jit``."""
    if kernels() is pure:
        from . import firmware_pure

        return firmware_pure
    from . import firmware_jit

    return firmware_jit


def tabular_kernels() -> ModuleType:
    """The active backend's tabular MLP kernels: ``tabular_pure`` or ``tabular_jit``."""
    if kernels() is pure:
        from . import tabular_pure

        return tabular_pure
    from . import tabular_jit

    return tabular_jit


def set_processes(setting: Union[int, str]) -> Union[int, str]:
    """How many processes the pure-Python MLP may use: ``1``, ``2`` or ``"auto"``.

    ``auto`` (the default) uses a second process when two CPUs are available and
    the fit is big enough to be worth starting one; ``2`` always does (for two
    rows or more). Results are identical either way. Returns the new setting.
    """
    global _processes
    text = str(setting).strip().lower()
    if text not in ("1", "2", "auto"):
        raise ValueError(f"processes must be 1, 2 or auto, not {setting!r}")
    _processes = text if text == "auto" else int(text)
    return _processes


def process_setting() -> Union[int, str]:
    """The current setting: ``1``, ``2`` or ``"auto"`` (from ``STINGERML_PROCESSES`` until set)."""
    if _processes is None:
        set_processes(os.environ.get("STINGERML_PROCESSES", "auto") or "auto")
    return _processes  # type: ignore[return-value]


def processes() -> int:
    """How many processes a big pure-Python MLP fit would use now (1 or 2)."""
    setting = process_setting()
    if setting != "auto":
        return setting  # type: ignore[return-value]
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return 2 if cpus >= 2 else 1
