"""Moved to :mod:`stingerml.formats.header` (the firmware's C header); this path works until stingerml 0.3, with a DeprecationWarning."""
from ._deprecation import moved

moved(__name__, "stingerml.formats.header")
