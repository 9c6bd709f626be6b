"""A fitted scikit-learn ``MLPClassifier``/``MLPRegressor`` (ReLU) as a :class:`~stingerml.core.dense.DenseNetwork`.

Reads only the fitted attributes (``coefs_`` as ``[n_in][n_out]``, ``intercepts_``,
``out_activation_``, ``classes_``) and an optional ``StandardScaler``'s
``mean_``/``scale_``; scikit-learn itself is never imported. Lets a model trained
elsewhere go through the same ONNX/TFLite writers and the int8 emulator.
"""
from __future__ import annotations

from array import array
from typing import Any, Optional, Sequence

from ..core.dense import DenseLayer, DenseNetwork
from ..core.errors import ExportError

_OUTPUTS = {"softmax": "softmax", "logistic": "sigmoid", "identity": "linear"}


def network_from_sklearn(estimator: Any, scaler: Optional[Any] = None,
                         feature_names: Sequence[str] = ()) -> DenseNetwork:
    """The DenseNetwork of a fitted ReLU MLP (weights rounded to float32), with ``scaler`` folded in as its scaler.

    Raises:
        ExportError: not a fitted MLP, a hidden activation other than ReLU, or a
            multi-label (several sigmoid units) output.
    """
    coefs = getattr(estimator, "coefs_", None)
    if coefs is None:
        raise ExportError(f"{type(estimator).__name__} is not a fitted scikit-learn MLP (no coefs_)")
    if getattr(estimator, "activation", "relu") != "relu":
        raise ExportError(f"hidden activation {estimator.activation!r}: only 'relu' networks can be exported")
    out = _OUTPUTS.get(getattr(estimator, "out_activation_", ""))
    if out is None:
        raise ExportError(f"output activation {getattr(estimator, 'out_activation_', None)!r} is not supported")
    layers = []
    for W, b in zip(coefs, estimator.intercepts_):
        n_in, n_out = len(W), len(W[0])
        weights = array("f", [float(W[i][o]) for o in range(n_out) for i in range(n_in)])
        layers.append(DenseLayer(weights, array("f", [float(v) for v in b]), n_in, n_out))
    if out == "sigmoid" and layers[-1].n_out != 1:
        raise ExportError("a multi-label MLP (several sigmoid outputs) cannot be exported; train one model per label")
    classes = tuple(str(c) for c in getattr(estimator, "classes_", ()))
    mean = scale = None
    if scaler is not None:
        n = layers[0].n_in
        mean = array("f", [0.0] * n if scaler.mean_ is None else [float(v) for v in scaler.mean_])
        scale = array("f", [1.0] * n if scaler.scale_ is None else [float(v) for v in scaler.scale_])
    targets = () if classes else tuple(f"y{j}" for j in range(layers[-1].n_out))
    return DenseNetwork(tuple(layers), out, mean=mean, scale=scale, feature_names=tuple(feature_names),
                        classes=classes, target_names=targets)
