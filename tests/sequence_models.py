"""The small sequence models the export tests train (every architecture, pooling and residual path)."""
from __future__ import annotations

import pytest

from stingerml.sequence import LSTMClassifier, TCNClassifier

MODELS = [
    pytest.param(lambda: TCNClassifier(hidden=8, blocks=3, max_epochs=3), id="tcn-avg"),
    pytest.param(lambda: TCNClassifier(hidden=8, blocks=2, kernel_size=2, pooling="last", max_epochs=3),
                 id="tcn-last"),
    pytest.param(lambda: TCNClassifier(hidden=63, blocks=2, max_epochs=1), id="tcn-identity-residual"),
    pytest.param(lambda: LSTMClassifier(hidden=6, max_epochs=3), id="lstm1"),
    pytest.param(lambda: LSTMClassifier(hidden=5, layers=2, max_epochs=3), id="lstm2"),
]
