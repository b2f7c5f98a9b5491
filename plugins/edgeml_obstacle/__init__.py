"""edgeml_obstacle: drone obstacle detection (blocked sectors + collision) from a low-resolution gray frame."""
