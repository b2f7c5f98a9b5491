"""edgeml_emlearn: scikit-learn models as C through emlearn (compressor sklearn-c, backend emlearn)."""
