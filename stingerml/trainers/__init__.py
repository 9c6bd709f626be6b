"""Trainers, one module (or package) per kind of model: :mod:`.blaster` is the browser trainer's
flow for the blaster's LR and MLP (see docs/architecture.md)."""
