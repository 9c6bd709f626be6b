"""A trained network → the files a device or an app runs: :mod:`.quantize` (post-training
full-int8 quantization, calibration rows), :mod:`.export` (``model.onnx``,
``model.tflite``, ``meta.json`` as one set), :mod:`.from_sklearn` (fitted
scikit-learn MLPs as networks)."""
