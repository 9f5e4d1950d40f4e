"""Errors meant for the user: the CLI prints their message on one line and exits non-zero.

Anything else that escapes is a bug and keeps its traceback.
"""


class ReproError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class UnknownNameError(ReproError):
    """An experiment, tier, backend, model or benchmark name that does not exist."""


class ExpectedTableError(ReproError):
    """A file of expected values (the paper's numbers) that is malformed."""


class StoreError(ReproError):
    """A sample store that is corrupt, inconsistent or belongs to another configuration."""


class InputFileError(ReproError):
    """A user-supplied file (e.g. per-problem results CSV) that is malformed."""


class EnvironmentNotSupportedError(ReproError):
    """The machine lacks something the request needs (a GPU, an optional package)."""
