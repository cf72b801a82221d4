"""`backend-tutor sandbox ...`: serve a lesson's sandboxes in the foreground, for your own tools.

Subcommands are lazy (see LAZY_COMMANDS["sandbox"] in tutor/cli.py): `sql` and `api`.
"""

from __future__ import annotations

import click

from tutor.cli import LazyGroup


@click.group(cls=LazyGroup, lazy_key="sandbox")
def sandbox() -> None:
    """Run a lesson's sandbox (database or API) outside the tutor."""
