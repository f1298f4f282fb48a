"""`python -m trailbridge ...` runs the `trailbridge` command."""

from trailbridge.cli.main import cli

cli()
