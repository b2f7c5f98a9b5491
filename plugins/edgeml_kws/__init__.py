"""edgeml built-in plugin: kws, a keyword spotting app ("go" detector)."""
