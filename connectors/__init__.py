"""Partner connectors: one module per partner, all the same shape."""
