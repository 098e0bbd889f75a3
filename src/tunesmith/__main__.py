"""``python -m tunesmith`` runs the CLI."""

from tunesmith.cli.main import main

main()
