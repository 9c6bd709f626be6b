"""Shared test configuration: vector paths and the opt-in ``slow`` and ``fuzz`` markers."""
from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run tests marked slow (pure-Python training on session_a, minutes)")
    parser.addoption("--run-fuzz", action="store_true", default=False,
                     help="also run tests marked fuzz (the fuzz suite with many more examples, minutes)")


def pytest_collection_modifyitems(config: pytest.Config, items) -> None:
    for marker in ("slow", "fuzz"):
        if config.getoption(f"--run-{marker}"):
            continue
        skip = pytest.mark.skip(reason=f"{marker}: pass --run-{marker} to run")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The repository's ``vectors/`` folder (copies of the golden reference outputs; see vectors/README.md)."""
    return VECTORS


BACKENDS = ["python", "numba"]


@contextlib.contextmanager
def use_backend(name: str):
    """Select a kernel backend for the duration (numba skips the test when not installed)."""
    from stingerml import _kernels

    if name == "numba":
        pytest.importorskip("numba")
    previous = _kernels.backend()
    _kernels.set_backend(name)
    try:
        yield name
    finally:
        _kernels.set_backend(previous)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Run the test once per kernel backend; restores the previous one afterwards."""
    with use_backend(request.param) as name:
        yield name
