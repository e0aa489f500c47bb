"""qa: answers questions with verbatim, cited excerpts from a document collection."""

__version__ = "0.1.0"
