"""Domain errors. The web layer maps them to HTTP statuses, the CLI to one line and an exit code."""

from __future__ import annotations


class QAError(Exception):
    """Base class: the message says what went wrong and, after "; ", what to do."""

    def problem(self) -> str:
        """What went wrong, without the advice: the message up to its first "; "."""
        return str(self).split(";")[0]


class IndexMissingError(QAError):
    """No index has been built yet."""


class IndexMismatchError(QAError):
    """The index was built with another model, format or parameters."""


class IndexCorruptError(QAError):
    """The index files are damaged or incomplete."""


class DocumentNotFoundError(QAError):
    """The requested document is not in the index."""


class UnreadableDocumentError(QAError):
    """A source file could not be read; the message gives the reason, ``code`` (a
    ``qa.records.SkipCode`` value) the kind of reason."""

    def __init__(self, message: str, code: str = "unreadable") -> None:
        super().__init__(message)
        self.code = code


class UnsupportedFormatError(UnreadableDocumentError):
    """No reader handles this file type."""


class InvalidRequestError(QAError):
    """A request parameter is out of range or malformed."""


class IndexBusyError(QAError):
    """Another process is building the index."""


class ModelLoadError(QAError):
    """The embedding model could not be loaded."""
