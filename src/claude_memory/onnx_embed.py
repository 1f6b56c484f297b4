"""The fast embedding path: the sentence-transformers model exported once, locally, to ONNX with int8
weights (per-channel, matrix products only) and run with ONNX Runtime; tokenised by the model's own
tokenizer.json, mean-pooled and normalised as the model's modules.json says. No torch at run time, no
network ever: the export reads the weights already on disk and is cached (MODEL_CACHE_DIR).

Only models whose pipeline is Transformer → mean Pooling (→ Normalize) qualify; others use PyTorch."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
EXPORT_VERSION = "2"  # bump when the export recipe changes: old cached files are not reused


def supported(model_dir: Path) -> bool:
    """Whether `model_dir` is a sentence-transformers model this path reproduces exactly (mean pooling)."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return False
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    return (kinds[:2] == ["Transformer", "Pooling"] and set(kinds[2:]) <= {"Normalize"}
            and bool(pooling.get("pooling_mode_mean_tokens"))
            and not any(pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                                  "pooling_mode_mean_sqrt_len_tokens"))
            and (model_dir / "tokenizer.json").is_file())


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return False
    return True


def cached_path(model_dir: Path, cache_dir: Path, name: str, exact: bool = False) -> Path:
    """The int8 file (fast, vectors within ~0.99 cosine of the PyTorch path's), or with `exact` the fp32 one
    (the PyTorch path's vectors), both written by one export."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    return cache_dir / f"{safe}-{'fp32' if exact else 'int8'}-v{EXPORT_VERSION}.onnx"


def export(model_dir: Path, cache_dir: Path, name: str) -> None:
    """Export the model's transformer to ONNX (fp32), quantize its matrix products to int8 per channel,
    and move both files into `cache_dir` atomically. One process at a time (a lock file); needs torch,
    transformers and onnx, which only this step imports."""
    fp32_target = cached_path(model_dir, cache_dir, name, exact=True)
    int8_target = cached_path(model_dir, cache_dir, name)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(int8_target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if int8_target.exists() and fp32_target.exists():
            return
        import onnx
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoModel, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(model_dir))
        # eager attention exports the plain pattern the transformer optimizer knows how to fuse
        model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

        class Hidden(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state

        sample = tok(["an example sentence", "another, longer example sentence to trace"], padding=True,
                     return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
            fp32 = Path(tmp) / "model.onnx"
            with torch.no_grad():
                torch.onnx.export(Hidden(model), tuple(sample[n] for n in names), str(fp32), input_names=names,
                                  output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                                  dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]})
            fp32 = _fuse(fp32, model.config)
            int8 = Path(tmp) / "model-int8.onnx"
            quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                             op_types_to_quantize=["MatMul", "Attention"],
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            os.replace(fp32, fp32_target)
            os.replace(int8, int8_target)
        log.info("exported %s to %s", model_dir.name, cache_dir)


def _fuse(path: Path, config: Any) -> Path:
    """ONNX Runtime's transformer optimizer: attention, layer norm and GELU fused into single kernels (the
    same arithmetic, far fewer operators). A BERT-shaped model only; anything else is left as exported."""
    if getattr(config, "model_type", "") not in ("bert", "roberta", "distilbert", "xlm-roberta", "mpnet"):
        return path
    try:
        from onnxruntime.transformers import optimizer

        fused = optimizer.optimize_model(str(path), model_type="bert", num_heads=int(config.num_attention_heads),
                                         hidden_size=int(config.hidden_size), opt_level=1)
        out = path.with_name("model-fused.onnx")
        fused.save_model_to_file(str(out))
        return out
    except Exception as exc:  # noqa: BLE001 — the unfused model is still right, only slower
        log.warning("transformer fusion failed (%s); keeping the plain export", exc)
        return path


class OnnxModel:
    """Encodes like SentenceTransformer.encode(normalize_embeddings=True) for a mean-pooling model."""

    def __init__(self, model_dir: Path, onnx_file: Path, threads: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        cfg = json.loads((model_dir / "sentence_bert_config.json").read_text()) \
            if (model_dir / "sentence_bert_config.json").exists() else {}
        self.max_seq_length = int(cfg.get("max_seq_length", 256))
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        modules = json.loads((model_dir / "modules.json").read_text())
        self.normalize = any(m.get("type", "").endswith("Normalize") for m in modules)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        pad = self.tokenizer.token_to_id("[PAD]")
        self.pad_id = 0 if pad is None else pad

    def get_sentence_embedding_dimension(self) -> int:
        return int(self.session.get_outputs()[0].shape[-1])

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Character offsets of the text's tokens, special tokens excluded."""
        return list(self.tokenizer.encode(text, add_special_tokens=False).offsets)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Normalised (when the model normalises) mean-pooled vectors; batches of similar lengths."""
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = np.zeros((len(texts), self.get_sentence_embedding_dimension()), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            rows = [encodings[i] for i in idx]
            width = min(max(len(e.ids) for e in rows), self.max_seq_length)
            ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros((len(rows), width), dtype=np.int64)
            for r, e in enumerate(rows):
                n = min(len(e.ids), width)
                seq = list(e.ids[:n])
                if len(e.ids) > width:  # truncated like the transformer's tokenizer: keep [SEP] last
                    seq[-1] = e.ids[-1]
                ids[r, :n] = seq
                mask[r, :n] = 1
                types[r, :n] = e.type_ids[:n]
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            hidden = self.session.run(None, {k: v for k, v in feeds.items() if k in self.inputs})[0]
            m = mask[..., None].astype(np.float32)
            vec = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            if self.normalize:
                vec /= np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
            out[idx] = vec
        return out
