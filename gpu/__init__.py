"""GPU inference: the wire schemas, the app's HTTP client, and the separately deployable server."""
