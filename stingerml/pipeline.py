"""Moved to :mod:`stingerml.trainers.blaster` (the blaster's training flow); this path works until stingerml 0.3, with a DeprecationWarning."""
from ._deprecation import moved

moved(__name__, "stingerml.trainers.blaster")
