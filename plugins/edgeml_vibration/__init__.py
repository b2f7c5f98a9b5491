"""edgeml_vibration: bearing fault diagnosis from vibration, an edgeml app plugin."""
