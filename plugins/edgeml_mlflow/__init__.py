"""edgeml built-in plugin: MLflow tracking observer."""
