"""Model file formats, one module per format: :mod:`.mlmd` (the firmware's MLMD files),
:mod:`.header` (the firmware's C header ``mlWeights.h``), :mod:`.network` (a
``DenseNetwork`` as JSON), :mod:`.onnx` (float32 ONNX) and :mod:`.tflite` (full-int8
TFLite), with :mod:`.deploy` writing the last two and ``meta.json`` as one set. Writers
read a trained model and nothing else (see docs/architecture.md); :mod:`.blaster` and
:mod:`.from_sklearn` turn MLMD models and scikit-learn MLPs into the
:class:`~stingerml.core.dense.DenseNetwork` the writers read."""
