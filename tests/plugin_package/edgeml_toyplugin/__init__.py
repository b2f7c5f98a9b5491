"""A third-party edgeml plugin used by edgeml's tests: waveform classification."""
