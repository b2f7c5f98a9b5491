"""edgeml built-in plugin: the ECG heartbeat app (AAMI classes, anomaly alarm), torch model."""
