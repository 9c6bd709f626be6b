"""Model file formats, one module per format: :mod:`.mlmd` (the firmware's MLMD files),
:mod:`.header` (the firmware's C header ``mlWeights.h``), :mod:`.onnx` (float32 ONNX) and
:mod:`.tflite` (full-int8 TFLite). Writers read a trained model and nothing else (see
docs/architecture.md)."""
