"""Model file formats, one module per format: :mod:`.mlmd` (the firmware's MLMD files) and
:mod:`.header` (the firmware's C header ``mlWeights.h``). Writers read a trained model and
nothing else (see docs/architecture.md)."""
