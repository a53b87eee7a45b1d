"""The exceptions that reach the user as a message instead of a traceback, and the words for a missing package of
the main install."""

from __future__ import annotations

import importlib.metadata

from ingest.errors import CorpusError


class UserError(Exception):
    """A problem the user can fix: printed as one line saying what to do, exit status 1."""


#: Every error that is shown to the user as its one-line message: the assistant's own and ingest's.
USER_ERRORS: tuple[type[Exception], ...] = (UserError, CorpusError)


def missing_package(error: ImportError) -> str | None:
    """The distribution a failed import needs, found along the error's causes, or None when none is named.

    Libraries re-raise a missing optional module as a plain ImportError with their own wording (SQLAlchemy's async
    engine without ``greenlet``); the module's name is then on the ``ModuleNotFoundError`` it was raised from.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ModuleNotFoundError) and seen.name:
            module = seen.name.split(".")[0]
            distributions = importlib.metadata.packages_distributions().get(module)
            return distributions[0] if distributions else module
        seen = seen.__cause__ or seen.__context__
    return None


def missing_package_message(error: ImportError) -> str:
    """One line naming the missing package and how to install it, instead of a traceback."""
    package = missing_package(error)
    if package is None:
        return f"a library failed to import ({error}); reinstall the assistant with `make install`"
    return (
        f"the Python package '{package}' is missing from this environment; it is part of the main install: run "
        "`make install` (or `pip install -c constraints.txt -e .` in your virtualenv)"
    )
