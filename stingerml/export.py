"""Moved to :mod:`stingerml.folder_dataset` (the original tool's training-folder dataset (not a model export)); this path works until stingerml 0.3, with a DeprecationWarning."""
from ._deprecation import moved

moved(__name__, "stingerml.folder_dataset")
