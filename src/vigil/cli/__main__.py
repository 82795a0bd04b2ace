"""`python -m vigil.cli` runs the CLI (used by tests and when the script is not on PATH)."""

from vigil.cli import main

main()
