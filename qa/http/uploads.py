"""Uploads into the corpus: safe file names, streamed bodies with a size limit, atomic writes.

``Upload`` parses a ``multipart/form-data`` body piece by piece as it arrives
(``streaming-form-data``), writing the ``file`` field into a hidden temporary file inside
the corpus (hidden files are never sources) and stopping with 413 as soon as the limit is
passed. ``finish`` then gives the file its name in one atomic step, without
replacing an existing file unless asked to. Problems are ``HTTPException`` with the status
the admin routes answer: 400 for a bad name or body, 409 for an existing name, 413, 415.
"""

from __future__ import annotations

import contextlib
import os
import time
import unicodedata
import uuid
from pathlib import Path, PurePosixPath

from fastapi import HTTPException
from streaming_form_data import StreamingFormDataParser
from streaming_form_data.parser import ParseFailedException, UnexpectedPartException
from streaming_form_data.targets import FileTarget
from streaming_form_data.validators import MaxSizeValidator, ValidationError

from qa.index.builds import fsync
from qa.sources.readers import supported_suffixes

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file
MAX_NAME_CHARS = 200


def safe_name(raw: str) -> str:
    """A plain file name for the corpus, or ``HTTPException`` 400/415 saying what is wrong.

    >>> safe_name(" Report 2021.PDF ")
    'Report 2021.PDF'
    """
    name = unicodedata.normalize("NFC", raw).strip()
    if not name or name in (".", "..") or any(c in name for c in "/\\") or os.path.isabs(name):
        raise HTTPException(400, f"file name {raw!r} must be a plain name without folders")
    if name.startswith(".") or any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise HTTPException(400, f"file name {raw!r} must not be hidden or contain control characters")
    if len(name) > MAX_NAME_CHARS:
        raise HTTPException(400, f"file name is {len(name)} characters; the limit is {MAX_NAME_CHARS}")
    if PurePosixPath(name).suffix.lower() not in supported_suffixes():
        raise HTTPException(415, f"{name}: unsupported file type; supported: {', '.join(supported_suffixes())}")
    return name


def too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the upload is larger than {limit / 1024 / 1024:g} MB (QA_MAX_UPLOAD_MB)")


def remove_stale_uploads(corpus_dir: Path, older_than: float = 3600) -> None:
    """Delete temporary upload files that a crashed server left in the corpus."""
    cutoff = time.time() - older_than
    for tmp in corpus_dir.glob(".upload-*.tmp") if corpus_dir.is_dir() else ():
        with contextlib.suppress(OSError):
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()


class Upload:
    """Streams one multipart upload into a hidden temporary file inside the corpus."""

    def __init__(self, corpus_dir: Path, content_type: str, limit: int, overwrite: bool) -> None:
        kind, _, params = content_type.partition(";")
        if kind.strip().lower() != "multipart/form-data" or "boundary=" not in params:
            raise HTTPException(400, "send the file as multipart/form-data in the field `file`")
        if not corpus_dir.is_dir():
            raise HTTPException(503, f"corpus directory {corpus_dir} does not exist")
        self.corpus_dir, self.limit, self.overwrite = corpus_dir, limit, overwrite
        self.name: str | None = None
        self.received = 0
        self.tmp: Path | None = corpus_dir / f".upload-{uuid.uuid4().hex}.tmp"
        self.target = _FileTarget(str(self.tmp), allow_overwrite=False, validator=MaxSizeValidator(limit))
        self.parser = StreamingFormDataParser(headers={"Content-Type": content_type})
        self.parser.register("file", self.target)

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the request body."""
        self.received += len(chunk)
        if self.received > self.limit + MULTIPART_OVERHEAD:
            raise too_large(self.limit)
        try:
            self.parser.data_received(chunk)
        except ValidationError:
            raise too_large(self.limit) from None
        except (ParseFailedException, UnexpectedPartException, FileExistsError) as exc:  # a second `file` part
            raise HTTPException(400, f"malformed multipart body ({exc})") from None
        self._check_name()

    def finish(self) -> tuple[str, int, bool]:
        """Put the uploaded file in place; returns its name, size and whether it replaced one."""
        self._check_name()
        if not self.target.multipart_filename and self.tmp is not None and self.tmp.exists():
            raise HTTPException(400, "the `file` field has no file name")
        if self.name is None or self.tmp is None or not self.tmp.exists() or not self.target.complete:
            raise HTTPException(400, "no file in the upload: send it in the multipart field `file`")
        fsync(self.tmp)
        size = self.tmp.stat().st_size
        target = self.corpus_dir / self.name
        replaced = target.exists()
        if self.overwrite:
            os.replace(self.tmp, target)
        else:
            try:
                os.link(self.tmp, target)  # fails if the name exists: no overwrite, even in a race
            except FileExistsError:
                raise self._exists() from None
            self.tmp.unlink()
        self.tmp = None
        with contextlib.suppress(OSError):
            fsync(self.corpus_dir)
        return self.name, size, replaced

    def discard(self) -> None:
        """Remove the temporary file if the upload did not complete."""
        self.target.close_file()  # the body may have stopped inside the file
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)

    def _check_name(self) -> None:
        """Once the ``file`` part's headers are in: a safe name (400/415), not taken (409)."""
        raw = self.target.multipart_filename
        if self.name is not None or not raw:
            return
        self.name = safe_name(raw)
        if not self.overwrite and (self.corpus_dir / self.name).exists():
            raise self._exists()

    def _exists(self) -> HTTPException:
        return HTTPException(409, f"{self.name} already exists in the corpus; add ?overwrite=true to replace it")


class _FileTarget(FileTarget):  # type: ignore[misc]
    """A file target that says whether its part ended (the body was not cut short)."""

    complete = False

    def on_finish(self) -> None:
        super().on_finish()
        self.complete = True

    def close_file(self) -> None:
        """Close the file if the part was cut off before it ended."""
        if self._fd is not None:
            self._fd.close()
