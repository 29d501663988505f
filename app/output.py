"""What the CLI prints to a terminal: consoles that never read user data as markup or controls.

Names, addresses and reasons are typed by people: `幼儿园[/bold]` or `[link=…]` must show as
typed, and an escape sequence in a stored name must not reach the operator's terminal. These
consoles turn markup and emoji codes off and pass every string through `for_terminal`.
"""

from __future__ import annotations

import logging
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from cases.validation import for_terminal

_LOGGER = logging.getLogger(__name__)


class SafeConsole(Console):
    """A Rich console for user data: no markup, no emoji codes, no highlighting, no control sequences."""

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("markup", False)
        kw.setdefault("emoji", False)
        kw.setdefault("highlight", False)
        super().__init__(**kw)

    def render_str(self, text: str, **kw: Any) -> Text:  # every plain string a table or print() shows
        return super().render_str(for_terminal(text), **kw)


out = SafeConsole()
err = SafeConsole(stderr=True)


def bold(text: Any) -> Text:
    """User data shown in bold (a Text object, so nothing in it is read as markup)."""
    return Text(for_terminal(text), style="bold")


def echo(text: Any, *, err: bool = False) -> None:
    """`typer.echo` for lines that carry user data."""
    typer.echo(for_terminal(text), err=err)
