"""Errors a user can act on. The command line prints their message, never a traceback."""


class CoigError(Exception):
    """Base class: the message says what went wrong, where, and what to do."""


class SourceError(CoigError):
    """A manifest, a source file, its checksum or its encoding is wrong or missing."""


class LedgerError(CoigError):
    """Records were lost or duplicated between stages: the build cannot be trusted."""
