"""`python -m tokenward`."""

from tokenward.cli.main import app

app()
