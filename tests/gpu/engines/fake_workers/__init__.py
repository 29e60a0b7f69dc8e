"""Worker programs for the sidecar tests: the real protocol, synthetic output."""
