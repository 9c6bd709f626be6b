"""The blaster's shared facts, each stated once (SPEC §4, §5, §8, §9, §10).

Every module that needs the window length, the channels, the feature counts,
the hidden sizes, the model slots or the output file names imports them from
here. Pure data and one validator: importing this module costs nothing.
"""
from __future__ import annotations

import struct
from typing import Dict, Tuple

from .errors import SlotError

WINDOW_SAMPLES = 50
"""Samples in one model window (0.5 s at 100 Hz): the firmware's ring buffer and the trainer's rows."""

CHANNEL_NAMES: Tuple[str, ...] = ("ax", "ay", "az", "gx", "gy", "gz")
"""The IMU channels, in the order of a log record and of every interleaved sample."""

CHANNELS = len(CHANNEL_NAMES)
"""Values per sample (6)."""

SUMMARY_FEATURES = 18
"""``mean, std, absmax`` of each channel: the logistic regression's input."""

RICH_FEATURES = 30
"""The summary features + ``absmean`` of each channel + accel/gyro magnitude ``mean, std, max``: the MLP's input."""

MLP_H1, MLP_H2 = 64, 32
"""The blaster MLP's hidden layer sizes (30→64→32→1)."""

SCALE_FLOOR: float = struct.unpack("<f", struct.pack("<f", 1e-10))[0]
"""The firmware replaces a scaler ``scale`` below ``1e-10f`` by ``1e-10f`` (this float32, as a double)."""

SLOT_LR, SLOT_MLP = "lr", "mlp"
SLOTS: Tuple[str, ...] = (SLOT_LR, SLOT_MLP)
"""The device's model slots: the LR (summary features) and the MLP (rich features)."""

SLOT_FEATURES: Dict[str, int] = {SLOT_LR: SUMMARY_FEATURES, SLOT_MLP: RICH_FEATURES}
"""Input width of each slot's model."""

MODEL_FILES: Dict[str, str] = {SLOT_LR: "ml_model_lr.bin", SLOT_MLP: "ml_model_mlp.bin"}
"""The model file of each slot, as the browser app downloads it and the device's SD card holds it."""

LR_FILE, MLP_FILE = MODEL_FILES[SLOT_LR], MODEL_FILES[SLOT_MLP]
REPORT_FILE = "report.json"
"""The training report written next to the two model files."""
REPORT_HTML_FILE = "report.html"
"""The same report as a page to open in a browser (:mod:`stingerml.blaster.report_html`)."""


def check_slot(slot: str) -> str:
    """``slot`` if it names a model slot (``"lr"`` or ``"mlp"``); else :class:`~stingerml.core.errors.SlotError`."""
    if slot not in SLOTS:
        raise SlotError(f"unknown model slot {slot!r}; use 'lr' or 'mlp'")
    return slot
