"""The one exception ingest raises for a problem the user can fix."""

from __future__ import annotations


class CorpusError(Exception):
    """A problem with the articles or the store that the user can fix: one line saying what to do.

    The assistant shows it as it shows its own :class:`assistant.errors.UserError`: the message, no traceback.
    ``reason`` names the kind of problem (``"no_text_layer"``, ``"too_big"``…) for the chat, which says it in the
    reader's language; the message itself is the command line's English.
    """

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason
