"""`python -m app.cli`: the `levelstream` command."""

from app.cli.commands import main

main()
