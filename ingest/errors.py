"""The one exception ingest raises for a problem the user can fix."""

from __future__ import annotations


class CorpusError(Exception):
    """A problem with the articles or the store that the user can fix: one line saying what to do.

    The assistant shows it as it shows its own :class:`assistant.errors.UserError`: the message, no traceback.
    """
