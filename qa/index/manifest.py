"""A build's ``manifest.json``: what it was built from and with, and whether this qa reads it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import IndexCorruptError, IndexMismatchError
from qa.records import Skip

FORMAT = "qa-index"
FORMAT_VERSION = 4


@dataclass(frozen=True)
class Manifest:
    """What an index was built from and with."""

    model: str
    dimension: int
    chunking: dict[str, int]
    documents: dict[str, dict[str, Any]]
    tagger: str = ""  # the entity tagger and its version
    skipped: dict[str, dict[str, Any]] = field(default_factory=dict)  # document → Skip.as_dict()
    counts: dict[str, int] = field(default_factory=dict)
    search: dict[str, Any] = field(default_factory=dict)  # how vectors are searched (qa.index.ann)
    created: str = ""
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def skips(self) -> dict[str, Skip]:
        """The files this build left out, and why."""
        return {doc_id: Skip.from_dict(data) for doc_id, data in self.skipped.items()}

    def to_json(self) -> str:
        """The manifest as written to ``manifest.json``."""
        return json.dumps(self.__dict__, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse ``manifest.json``; raises ``IndexCorruptError`` if it is not one."""
        try:
            data = json.loads(text)
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise IndexCorruptError(f"manifest.json is unreadable ({exc})") from exc


def rebuild_hint(index_dir: Path) -> str:
    """The command that rebuilds the index, for error messages."""
    return f"run `qa index --full --index {index_dir}`"


def read_manifest(build: Path) -> Manifest:
    """The manifest of one build directory."""
    try:
        return Manifest.from_json((build / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"{build} has no manifest.json") from None


def check_compatible(manifest: Manifest, model: str, index_dir: Path) -> None:
    """Raise ``IndexMismatchError`` unless the index matches this format and model."""
    if manifest.format != FORMAT or manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"the index in {index_dir} has format {manifest.format} v{manifest.format_version}, "
            f"this qa reads {FORMAT} v{FORMAT_VERSION}; {rebuild_hint(index_dir)}"
        )
    if manifest.model != model:
        raise IndexMismatchError(
            f"the index in {index_dir} was built with model {manifest.model!r}, but the "
            f"configured model is {model!r}; {rebuild_hint(index_dir)} "
            "(or set QA_MODEL back)"
        )
