"""edgeml_vision: people and vehicles in low-resolution aerial frames (FOMO-style centroid detection)."""
