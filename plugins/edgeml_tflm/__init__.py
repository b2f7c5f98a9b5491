"""edgeml built-in plugin: tflm."""
