"""User-facing errors.

Anything a user can cause (a missing file, a bad option, a broken model folder)
raises :class:`VgpredError` with a one-line message that names the file or option
and the problem. The CLI prints that line and exits non-zero without a traceback.
"""
from __future__ import annotations


class VgpredError(Exception):
    """An error caused by input the user gave; its message is one line for the user."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class UsageError(VgpredError):
    """A bad command-line option or argument value."""

    exit_code = 2
