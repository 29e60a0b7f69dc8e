"""Inference engines behind the GPU server, and the registry that picks one per kind."""
