"""Moved to :mod:`stingerml.formats.mlmd` (MLMD model files); this path works until stingerml 0.3, with a DeprecationWarning."""
from ._deprecation import moved

moved(__name__, "stingerml.formats.mlmd")
