"""The domain exceptions: one small hierarchy, each with a Chinese and an English message.

`zh` is plain Chinese for every face (pages name actions by their Chinese names); `cli` is what
the command line adds beside it (flags such as --fail, trigger ids such as propose_enforcement).

The CLI maps them to exit codes and the web app to status codes, each in one place.
"""

from __future__ import annotations

__all__ = ["Conflict", "InvalidInput", "NotAllowed", "NotFound", "TuoyouError"]


class TuoyouError(Exception):
    """Base of every error a user can cause; carries a message in Chinese and in English."""

    exit_code = 1

    def __init__(self, zh: str, en: str = "", *, allowed: list[str] | None = None, cli: str = "") -> None:
        super().__init__(f"{zh} / {en}" if en else zh)
        self.zh = zh
        self.en = en or zh
        self.allowed = allowed
        self.cli = cli  # what the command line adds in brackets to `zh`: its flags or trigger ids

    @property
    def cli_zh(self) -> str:
        """The Chinese message as the command line says it (with its flags or trigger ids)."""
        return f"{self.zh}（{self.cli}）" if self.cli else self.zh

    @property
    def message(self) -> str:
        return f"{self.zh}（{self.en}）" if self.en != self.zh else self.zh


class NotAllowed(TuoyouError):
    """The action is not allowed now: wrong state, wrong role, or a guard refused it."""

    exit_code = 3


class NotFound(TuoyouError, LookupError):
    """No such record, or not visible to this user (another township's case)."""

    exit_code = 4


class Conflict(TuoyouError):
    """Someone else changed the record first (stale version); nothing was written."""

    exit_code = 5


class InvalidInput(TuoyouError, ValueError):
    """The input is malformed or incomplete (missing reason, unknown checklist code, bad date)."""

    exit_code = 2
