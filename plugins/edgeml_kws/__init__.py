"""edgeml built-in plugin: kws."""
