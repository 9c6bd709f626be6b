"""Sequence classifiers over padded windows ``[N, T, F]`` with masks (docs/sequence.md).

- :mod:`.data`: :class:`Sequences` (the input), ``.npz`` bundles and long-format CSV;
- :mod:`.estimator`: :class:`TCNClassifier`, :class:`LSTMClassifier` (hot loops in
  ``kernels("sequence")``);
- :mod:`.model`: :class:`SequenceNetwork` (a trained model as plain data) and its file;
- :mod:`.synth`: a generated word-like task (21 hand landmarks drawing shapes);
- :mod:`.runs`: run folders, checkpoints and resume (``stingerml seq``).
"""
from .data import SequenceData, Sequences, read_csv_long, read_data, read_npz_data
from .estimator import LSTMClassifier, TCNClassifier
from .model import SequenceNetwork

__all__ = ["LSTMClassifier", "SequenceData", "SequenceNetwork", "Sequences", "TCNClassifier", "read_csv_long",
           "read_data", "read_npz_data"]
