"""Channels: where users write from and where replies go back (one module per platform)."""
