"""Uploads into the corpus: safe file names, streamed bodies with a size limit, atomic writes.

``Upload`` parses a ``multipart/form-data`` body piece by piece as it arrives (with
python-multipart's streaming parser), writing the ``file`` field into a hidden temporary
file inside the corpus (hidden files are never sources) and stopping with 413 as soon as
the limit is passed. ``finish`` then gives the file its name in one atomic step, without
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
from typing import Any

from fastapi import HTTPException

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
        from python_multipart.multipart import MultipartParser, parse_options_header

        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise HTTPException(400, "send the file as multipart/form-data in the field `file`")
        if not corpus_dir.is_dir():
            raise HTTPException(503, f"corpus directory {corpus_dir} does not exist")
        self.corpus_dir, self.limit, self.overwrite = corpus_dir, limit, overwrite
        self.name: str | None = None
        self.size = 0
        self.received = 0
        self.tmp: Path | None = None
        self._handle: Any = None
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._in_file = False
        self._done = False
        self._parse_options_header = parse_options_header
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        })

    def feed(self, chunk: bytes) -> None:
        """Parse the next piece of the request body."""
        from python_multipart.exceptions import MultipartParseError

        self.received += len(chunk)
        if self.received > self.limit + MULTIPART_OVERHEAD:
            raise too_large(self.limit)
        try:
            self.parser.write(chunk)
        except MultipartParseError as exc:
            raise HTTPException(400, f"malformed multipart body ({exc})") from None

    def finish(self) -> tuple[str, int, bool]:
        """Put the uploaded file in place; returns its name, size and whether it replaced one."""
        from python_multipart.exceptions import MultipartParseError

        try:
            self.parser.finalize()
        except MultipartParseError as exc:
            raise HTTPException(400, f"malformed multipart body ({exc})") from None
        if self.name is None or self.tmp is None or not self._done:
            raise HTTPException(400, "no file in the upload: send it in the multipart field `file`")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
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
            fd = os.open(self.corpus_dir, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        return self.name, self.size, replaced

    def discard(self) -> None:
        """Remove the temporary file if the upload did not complete."""
        if self._handle is not None and not self._handle.closed:
            self._handle.close()
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)

    def _exists(self) -> HTTPException:
        return HTTPException(409, f"{self.name} already exists in the corpus; add ?overwrite=true to replace it")

    # -- parser callbacks ----------------------------------------------------------------

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _, options = self._parse_options_header(self._headers.get(b"content-disposition", b""))
        self._in_file = options.get(b"name") == b"file" and self.name is None
        if not self._in_file:
            return
        raw = options.get(b"filename")
        if not raw:
            raise HTTPException(400, "the `file` field has no file name")
        self.name = safe_name(raw.decode("utf-8", "replace"))
        if not self.overwrite and (self.corpus_dir / self.name).exists():
            raise self._exists()
        self.tmp = self.corpus_dir / f".upload-{uuid.uuid4().hex}.tmp"
        self._handle = self.tmp.open("xb")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            return
        self.size += end - start
        if self.size > self.limit:
            raise too_large(self.limit)
        self._handle.write(data[start:end])

    def _part_end(self) -> None:
        if self._in_file:
            self._done = True
            self._in_file = False
