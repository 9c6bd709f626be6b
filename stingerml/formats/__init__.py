"""Model file formats, one module per format."""
