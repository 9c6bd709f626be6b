"""Errors raised while talking to a blaster (or the virtual one): ``DeviceError`` and its subclasses,
defined with every other error class in :mod:`stingerml.core.errors` and re-exported here."""
from __future__ import annotations

from ..core.errors import *  # noqa: F401,F403
