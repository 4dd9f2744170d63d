"""`python -m bot` runs the stdbot command line."""

from bot.cli import app

app()
