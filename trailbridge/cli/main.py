"""`trailbridge ...` commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trailbridge.bus.envelope import valid_test_event
from trailbridge.patterns import PatternError, compile_pattern

INVALID_EVENT = "Parameter Event is not valid."


def _argument(value: str) -> str:
    """A JSON argument given inline, or as @file."""
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {value[1:]}: {exc.strerror}") from None
    return value


@click.group()
@click.version_option(package_name="trailbridge")
def cli() -> None:
    """trailbridge: a self-hostable CloudTrail + EventBridge."""


@cli.command("test-pattern")
@click.option("--pattern", required=True, help="Event pattern: JSON text or @file.")
@click.option("--event", required=True, help="Event: JSON text or @file.")
def test_pattern(pattern: str, event: str) -> None:
    """Print true or false (exit 0 or 1) as EventBridge's TestEventPattern would; exit 2 on errors."""
    pattern_text, event_text = _argument(pattern), _argument(event)
    try:
        compiled = compile_pattern(pattern_text)
    except PatternError as exc:
        click.echo(f"InvalidEventPatternException: {exc}", err=True)
        sys.exit(2)
    if not valid_test_event(event_text):
        click.echo(f"ValidationException: {INVALID_EVENT}", err=True)
        sys.exit(2)
    result = compiled.matches(event_text)
    click.echo("true" if result else "false")
    sys.exit(0 if result else 1)
