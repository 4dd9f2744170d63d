"""Test helpers that play external services on 127.0.0.1."""
