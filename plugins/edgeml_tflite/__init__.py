"""edgeml built-in plugin: tflite."""
