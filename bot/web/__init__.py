"""The web side of stdbot: the FastAPI app, the web chat page and API, probes and metrics."""
