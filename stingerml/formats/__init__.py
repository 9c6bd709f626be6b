"""Model file formats, one module per format: :mod:`.mlmd` (the firmware's MLMD files),
:mod:`.header` (the firmware's C header ``mlWeights.h``) and :mod:`.network` (a
``DenseNetwork`` as JSON). Writers read a trained model and nothing else (see
docs/architecture.md)."""
