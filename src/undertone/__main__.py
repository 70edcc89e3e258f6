"""``python -m undertone`` runs the command line, like the ``undertone`` script."""

from undertone.cli import app

app()
