"""How long the final models train and how often the MLP's loss is recorded (SPEC §14).

The published browser app (the ML Personaliser page) calls the browser
trainer's ``trainPipeline`` with ``mlpMaxIter: 700`` and ``mlpSnapshotEvery: 8``
from both of its buttons, so the model files its users get come from 700 MLP
iterations. Those are stingerml's defaults (:data:`APP`). ``trainPipeline``'s
own defaults, 600 iterations with a loss entry every 16 (the ``browser/``
reference outputs, SPEC §8), are the preset :data:`TRAIN_PIPELINE`.

Only the final models are affected: the held-out check keeps its 1500 LR and
220 MLP iterations in both presets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict

from ..core.errors import SettingsError


@dataclass(frozen=True)
class TrainSettings:
    """Iterations of the final models and the MLP loss cadence.

    Attributes:
        mlp_iterations: Adam iterations of the final MLP (app: 700).
        mlp_loss_every: the MLP's mean BCE is recorded every this many
            iterations and at the last one (app: 8, i.e. 88 entries for 700).
        lr_iterations: gradient-descent iterations of the final LR (5000 in both presets).
    """

    mlp_iterations: int = 700
    mlp_loss_every: int = 8
    lr_iterations: int = 5000

    def __post_init__(self) -> None:
        for name in ("mlp_iterations", "mlp_loss_every", "lr_iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SettingsError(f"TrainSettings.{name} must be a whole number >= 1, got {value!r}")

    @property
    def preset(self) -> str:
        """``"app"``, ``"train-pipeline"`` or ``"custom"``: the preset these settings equal."""
        return next((name for name, s in PRESETS.items() if s == self), "custom")

    def to_json(self) -> Dict[str, Any]:
        """What ``report.json`` records under ``settings``."""
        return {"preset": self.preset, "mlpIterations": self.mlp_iterations,
                "mlpLossEvery": self.mlp_loss_every, "lrIterations": self.lr_iterations}


APP = TrainSettings()
"""The published app's settings (both buttons): MLP 700 iterations, loss every 8. The default."""

TRAIN_PIPELINE = TrainSettings(mlp_iterations=600, mlp_loss_every=16)
"""``trainPipeline``'s own defaults (no app button uses them): MLP 600 iterations, loss every 16."""

PRESETS: Dict[str, TrainSettings] = {"app": APP, "train-pipeline": TRAIN_PIPELINE}


def preset(name: str) -> TrainSettings:
    """The preset called ``name`` (``"app"`` or ``"train-pipeline"``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise SettingsError(f"unknown settings preset {name!r}; use {' or '.join(PRESETS)}") from None
