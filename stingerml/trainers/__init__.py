"""Trainers, one module (or package) per kind of model: :mod:`.blaster` is the browser trainer's
flow for the blaster's LR and MLP, :mod:`.tabular` the general trainer of small MLPs on CSV
data (see docs/architecture.md)."""
