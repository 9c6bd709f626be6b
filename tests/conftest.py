"""Shared test configuration: vector paths and the opt-in ``slow`` and ``fuzz`` markers."""
from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parent.parent / "vectors"

try:  # hypothesis's speed health check measures the machine, not the code: off on loaded CI machines
    from hypothesis import HealthCheck, settings

    settings.register_profile("stingerml", deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("stingerml")
except ImportError:
    pass


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run tests marked slow (pure-Python training on session_a, minutes)")
    parser.addoption("--run-fuzz", action="store_true", default=False,
                     help="also run tests marked fuzz (the fuzz suite with many more examples, minutes)")


# The fidelity subset that CI runs on the oldest and newest CPython of the machine (.ci/pythons):
# test functions by "file::name"; each one must exist, so a rename cannot shrink the subset unseen.
COMPAT = (
    "test_pipeline.py::test_tiny_model_files_byte_identical",
    "test_app_settings.py::test_tiny_default_is_the_app",
    "test_loader.py::test_verdict_matches_firmware",
    "test_firmware.py::test_stream_replay_tiny",
    "test_cli_train.py::test_python_dash_m_runs",
    "test_cli_train.py::test_demo_help",
)


@pytest.fixture(autouse=True)
def _backend_restored():
    """A test that selects a backend (``main([..., "--backend", X])`` in this process) leaves the next
    test the backend it found."""
    from stingerml import _kernels

    before = _kernels._name
    yield
    _kernels._name = before


@pytest.hookimpl(tryfirst=True)  # mark before pytest's own -m deselection
def pytest_collection_modifyitems(config: pytest.Config, items) -> None:
    _mark_compat(config, items)
    for marker in ("slow", "fuzz"):
        if config.getoption(f"--run-{marker}"):
            continue
        skip = pytest.mark.skip(reason=f"{marker}: pass --run-{marker} to run")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


def _mark_compat(config: pytest.Config, items) -> None:
    """Mark the COMPAT tests ``compat``; with ``-m compat``, fail when one of them is not collected."""
    found = set()
    for item in items:
        key = f"{Path(str(item.fspath)).name}::{item.originalname}"
        if key in COMPAT:
            item.add_marker(pytest.mark.compat)
            found.add(key)
    if "compat" in (config.getoption("-m") or "") and found != set(COMPAT):
        raise pytest.UsageError(f"compat tests not found: {sorted(set(COMPAT) - found)}")


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


def skip_if_same(module, reference) -> None:
    """Skip a test that checks a backend's kernels only against the pure reference when both are
    the same module (the python backend, or numba not installed): pure against pure proves nothing."""
    if module is reference:
        pytest.skip("compares a backend with the pure reference; on the python backend that is pure with pure")


# --- runs shared between tests --------------------------------------------------------------------
# A pure-Python training of session_a takes minutes: tests that check the same run (same log bytes,
# settings and backend) share it, within one pytest process. Each test still makes its own comparisons.
_TRAINED: dict = {}
_REPLAYED: dict = {}


def trained(log: bytes, settings=None):
    """``stingerml.train(log, settings=settings)`` on the active backend, once per pytest process.

    ``log`` is the session's bytes (a pulled file and the vector it came from are one run);
    the result is shared, so a test must not change it.
    """
    from stingerml import _kernels
    from stingerml.blaster.trainer import train

    key = (hashlib.sha256(log).hexdigest(), settings, _kernels.backend())
    if key not in _TRAINED:
        _TRAINED[key] = train(log, settings=settings)
    return _TRAINED[key]


def replayed(session: str):
    """``firmware.replay`` of ``vectors/sessions/<session>.bin`` with the browser's models of that
    session (``vectors/browser/``) on the active backend, once per pytest process: ``(p_lr, p_mlp)``
    (shared: a test must not change them)."""
    from stingerml import _kernels
    from stingerml.blaster import firmware
    from stingerml.formats import mlmd
    from stingerml.blaster.log import read_log

    key = (session, _kernels.backend())
    if key not in _REPLAYED:
        models = [mlmd.parse((VECTORS / "browser" / f"{session}.{m}.mlmd").read_bytes()) for m in ("lr", "mlp")]
        _REPLAYED[key] = firmware.replay(read_log(VECTORS / "sessions" / f"{session}.bin"), *models)
    return _REPLAYED[key]
