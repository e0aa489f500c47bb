"""The embedding model on ONNX Runtime: exported locally from the packaged weights, once.

sentence-transformers runs the model with torch; ONNX Runtime runs the same network about
twice as fast on a CPU, and four times as fast with int8 weights. Nothing is downloaded:
the first time it is needed, the model's BERT network is exported from its local weights
with ``torch.onnx`` (a small wrapper that calls it by keyword, as transformers 5 wants),
then quantised to int8 per channel with ONNX Runtime's dynamic quantisation, and both files
are cached (``QA_CACHE_DIR``, by default ``~/.cache/qa``) under a name derived from the
weights' hash. Pooling is the model's own: the mean over the attention mask, then unit length.

The float32 network gives torch's vectors (cosine ≥ 0.9999); the int8 one, used for
questions with ``QA_BACKEND=onnx-int8``, stays within cosine 0.99 of them on every
development question (0.9916 at worst).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelLoadError

log = logging.getLogger("qa")
OPSET = 17
BATCH = 32


def default_cache_dir() -> Path:
    """Where exported models are kept: ``QA_CACHE_DIR`` or ``~/.cache/qa``."""
    return Path(os.environ.get("QA_CACHE_DIR") or Path.home() / ".cache" / "qa")


def _weights_hash(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in ("model.safetensors", "pytorch_model.bin", "config.json", "tokenizer.json"):
        path = model_dir / name
        if path.exists():
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def model_cache_dir(model_dir: Path, cache_dir: Path | None = None) -> Path:
    """The cache folder of one model, named by its weights' hash."""
    return (cache_dir or default_cache_dir()) / "onnx" / f"{model_dir.name}-{_weights_hash(model_dir)}"


def exported(model_dir: Path, cache_dir: Path | None = None) -> tuple[Path, Path]:
    """The float32 and int8 ONNX files of the model in ``model_dir``, exporting them first
    if they are not cached yet (under a lock, so concurrent processes export once)."""
    target = model_cache_dir(model_dir, cache_dir)
    fp32, int8 = target / "model.onnx", target / "model-int8-v2.onnx"
    if fp32.exists() and int8.exists():
        return fp32, int8
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not fp32.exists():
                log.warning("qa: exporting the embedding model to ONNX (once) into %s", target)
                _export(model_dir, fp32)
            if not int8.exists():
                _quantize(fp32, int8)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return fp32, int8


def _export(model_dir: Path, out: Path) -> None:
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise ModelLoadError(f"exporting the model to ONNX needs torch and transformers ({exc})") from exc

    class Wrapper(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            # by keyword: positionally, transformers 5 takes the third argument for another one
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    sample = {k: torch.ones((1, 8), dtype=torch.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
    tmp = out.with_suffix(".onnx.tmp")
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(
            Wrapper(bert), (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]), str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["hidden"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "hidden": axes},
            opset_version=OPSET, dynamo=False,
        )
    os.replace(tmp, out)


def _quantize(fp32: Path, out: Path) -> None:
    """int8 weights per channel, except the first layer's feed-forward output projection,
    whose int8 error alone took the cosine to torch below 0.99 on some questions (0.989 →
    0.992 kept in float32, at +0.1 ms a question)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep = [n.name for n in onnx.load(str(fp32)).graph.node
            if n.op_type == "MatMul" and "layer.0/output/dense" in n.name]
    tmp = out.with_suffix(".onnx.tmp")
    quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep)
    os.replace(tmp, out)


class OnnxEncoder:
    """Tokenizer + ONNX session + the model's mean pooling; thread-safe."""

    def __init__(self, model_dir: Path, onnx_file: Path, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        max_length = 256
        config = model_dir / "sentence_bert_config.json"
        if config.exists():
            max_length = int(json.loads(config.read_text()).get("max_seq_length", max_length))
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]") or 0)
        _check_mean_pooling(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        # Threads that spin after a run steal the core from everything else (torch, FAISS, the
        # server); a question is one short run, so waking them costs less than spinning.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()
        self.dimension = int(self._run(["dimension"]).shape[1])

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of ``texts``, in order (batched by length, so little is padded)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for at in range(0, len(texts), BATCH):
            chosen = order[at : at + BATCH]
            out[chosen] = self._run([texts[i] for i in chosen])
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        parts = []
        for at in range(0, len(texts), BATCH):
            encodings = self.tokenizer.encode_batch(texts[at : at + BATCH])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            types = np.array([e.type_ids for e in encodings], dtype=np.int64)
            with self._lock:
                (hidden,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            parts.append(pooled / np.maximum(norms, 1e-12))
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def _check_mean_pooling(model_dir: Path) -> None:
    config = model_dir / "1_Pooling" / "config.json"
    if not config.exists():
        return
    pooling = json.loads(config.read_text())
    others = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v and k != "pooling_mode_mean_tokens"]
    if not pooling.get("pooling_mode_mean_tokens") or others:
        raise ModelLoadError(f"the ONNX backend does mean pooling only; {model_dir} pools with {others}: "
                             "set QA_BACKEND=torch")

