"""Model file formats: one module per format (ONNX, TFLite; MLMD and the C header move here)."""
