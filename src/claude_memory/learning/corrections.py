"""Correction detection without an LLM: does a user message negate or redirect what Claude just did?

A small logistic-regression classifier over the message's sentence embedding (the product's own model,
all-MiniLM-L6-v2) plus a few context and wording features, trained on a labelled development set
(tests/data/corrections.jsonl, see the README) and shipped as package data (correction_model.json); numpy
only at run time. The hand-written cue rules below are one of its features, not the decision: on text it
was not written for, a cue word ("instead", "I said", "still failing") says little by itself.

Precision matters more than recall (a false correction becomes a wrong preference candidate), so the
decision threshold is set for precision."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_LEAD = re.compile(r"^(?:(?:hmm+|ok(?:ay)?|so|well|ugh|oh|uh|um+|hey|claude)[,.!]?\s+)+", re.I)

# Praise, thanks, agreement: a message that opens with these is not a correction ("No, that looks great").
_PRAISE = re.compile(
    r"\b(?:great|perfect|looks? (?:good|great|fine)|lgtm|thanks?|thank you|nice|awesome|excellent|"
    r"well done|good job|exactly what|that works|it works|works (?:now|great|perfectly)|sounds good|"
    r"no worries|no problem|no rush|all good|love it|brilliant|amazing)\b", re.I)

# Negations that are not about Claude's action: reminders, reassurance, the user's own state.
_BENIGN = re.compile(
    r"\b(?:don'?t|do not) (?:forget|hesitate|worry|know|mind|think so|see why not)\b|"
    r"^no,? i (?:haven'?t|have not|didn'?t|did not|don'?t|do not|am not|'m not|wasn'?t|was not)\b|"
    r"^no,? (?:it'?s|that'?s) (?:fine|ok|okay|good)\b|^no(?:pe)?,? (?:thanks|thank you)\b|"
    r"^(?:no|nope),? (?:not yet|just that|that'?s all|nothing else)\b|"
    r"^no,? (?:go ahead|please do|do it|carry on|continue|proceed)\b|^no (?:idea|clue)\b", re.I)

# Cues that the previous action was wrong or must change.
_STRONG = re.compile(
    r"that'?s (?:wrong|not (?:quite |exactly )?(?:right|correct|it|what|how|the))|"
    r"that is (?:wrong|not (?:quite |exactly )?(?:right|correct|what))|^wrong\b|"
    r"\b(?:this|that|it)(?:'s| is) (?:wrong|incorrect|broken)\b|\b(?:that|this|it) breaks\b|"
    r"\b(?:isn'?t|is not|wasn'?t|was not) what i\b|\bi (?:didn'?t|did not) ask\b|\bmisunderst|\bmisread\b|"
    r"\bgo back to (?:the )?(?:previous|old|original|last)\b|"
    r"\bnot what i (?:asked|wanted|meant|said|need)|\bi (?:said|told you|meant|asked (?:you )?(?:for|to))\b|"
    r"\b(?:revert|undo|roll (?:it |that |this )?back)\b|\bput (?:it|that|them|the [\w .-]{1,40}) back\b|"
    r"\byou (?:forgot|missed|broke|deleted|removed|changed|renamed|ignored|overwrote|shouldn'?t|should not|"
    r"didn'?t|did not|were supposed to)\b|\bwhy (?:did|are|do) you\b|"
    r"\bstill (?:not|doesn'?t|does not|isn'?t|is not|failing|fails|broken|the same|getting|seeing|erroring)\b|"
    r"\b(?:didn'?t|doesn'?t|did not|does not|isn'?t|is not) (?:work|fix|help|compile|run|pass)\b|"
    r"\bnot working\b|\bsame error\b|\bthat broke\b|\bit broke\b|\byou(?:'re| are) overcomplicat|"
    r"\bwrong (?:file|branch|function|place|directory|folder|approach|one|command|version|way|name|path)\b|"
    r"\bincorrect\b|\binstead\b|\brather than\b|\bnot like that\b|(?:^|please )never\b|"
    r"\bstop (?:adding|using|doing|changing|touching|editing|running|making|writing|creating|removing)\b|"
    r"\b(?:don'?t|do not|please don'?t|can you not|could you not|no need to) (?:use|change|add|touch|edit|"
    r"run|commit|push|remove|delete|create|modify|rename|put|do|make|write|mock|include|install|reformat|"
    r"rewrite|refactor|move|import|call|hardcode|hard-code|comment|print|log|skip|disable)\b", re.I)

_OPENING_NEGATION = re.compile(r"^(?:no+|nope|nah|wait|stop|hold on|not (?:like )?that)\b[\s,.!—–:;-]*", re.I)
_ACTUALLY = re.compile(r"^actually\b[\s,.!—–:;-]*", re.I)
_ACTUALLY_ADD = re.compile(r"^(?:one more|also|can you also|could you also|and|another)\b", re.I)
_ACTUALLY_REDIRECT = re.compile(
    r"^(?:let'?s not|let'?s (?:use|keep|go with|do)|use|keep|go with|we should|it should|you should|"
    r"change|switch|make it|don'?t|do not|no\b|the \w+ (?:is|are|should)|revert|leave|skip|remove)\b", re.I)


def rule_cues(text: str, context: str | None = None) -> bool:
    """The cue rules: True when the wording looks like a correction (negation, redirect, "that's wrong"…).
    A feature of the classifier; too eager on requests that merely contain a cue word to decide alone."""
    if context is not None and not context.strip():
        return False
    t = " ".join(text.split())
    if not t or len(t) > 2000:
        return False
    t = _LEAD.sub("", t)
    head = t[:80]
    strong = bool(_STRONG.search(t))
    if _BENIGN.search(t) and not strong:
        return False
    if _PRAISE.search(head) and not _STRONG.search(head):
        return False
    m = _ACTUALLY.match(t)
    if m:
        rest = t[m.end():]
        if _ACTUALLY_ADD.match(rest):
            return strong
        return bool(_ACTUALLY_REDIRECT.match(rest)) or strong
    m = _OPENING_NEGATION.match(t)
    if m and (m.end() < len(t) or len(t) <= 6):
        # "wait, what does this do?" interrupts to ask, it does not redirect
        return strong or not (t.lower().startswith(("wait", "hold on")) and t.rstrip().endswith("?"))
    return strong


# --- the classifier -------------------------------------------------------------------------------------
MODEL_FILE = Path(__file__).with_name("correction_model.json")
MAX_CHARS = 2000  # longer messages are task descriptions, not corrections
_STARTS_NEGATION = re.compile(r"^(?:no+|nope|nah|not|wait|stop|hold on|hmm+|ugh|hm+)\b", re.I)
_STARTS_APPROVAL = re.compile(r"^(?:great|perfect|thanks?|thank you|lgtm|ok(?:ay)?|k|yes|yep|sure|nice|good|"
                              r"cool|awesome|excellent|lovely|looks good)\b", re.I)
_STARTS_SEQUENCE = re.compile(r"^(?:now|next|then|also|first|and|let'?s|another|one more|after that|"
                              r"can you|could you|please add|add|write|create|make)\b", re.I)
HAND_FEATURES = ("has_context", "context_is_action", "question", "log_words", "starts_negation",
                 "starts_approval", "starts_sequence", "cue_rules", "code_spans")


def hand_features(text: str, context: str | None) -> list[float]:
    """A few features the sentence embedding does not carry well: is there an action to correct, how
    the message opens, whether it asks, how long it is, and whether the cue rules fire."""
    t = _LEAD.sub("", " ".join(text.split()))
    ctx = (context or "").strip()
    return [
        float(bool(ctx)),
        float(ctx.startswith(("ran ", "used "))),
        float(t.rstrip().endswith("?")),
        math.log1p(len(t.split())),
        float(bool(_STARTS_NEGATION.match(t))),
        float(bool(_STARTS_APPROVAL.match(t))),
        float(bool(_STARTS_SEQUENCE.match(t))),
        float(rule_cues(text, context)),
        float(min(t.count("`") // 2, 3)),
    ]


_TOKEN = re.compile(r"[a-z0-9']+|[?!`]")
BOW_SCALE = 0.5  # weight of the word features beside the unit-length embedding
MIN_DF = 2  # a word or word pair enters the vocabulary when at least this many training rows have it


def grams(text: str) -> set[str]:
    """Lower-case words, word pairs and the opening word ("^no") of a message."""
    words = _TOKEN.findall(text.lower().replace("n't", " not"))
    out = set(words) | {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}
    if words:
        out.add("^" + words[0])
    return out


def vocabulary(texts: Sequence[str]) -> tuple[str, ...]:
    df: dict[str, int] = {}
    for t in texts:
        for g in grams(t):
            df[g] = df.get(g, 0) + 1
    return tuple(sorted(g for g, n in df.items() if n >= MIN_DF))


def bag(texts: Sequence[str], vocab: Sequence[str]) -> np.ndarray:
    pos = {g: j for j, g in enumerate(vocab)}
    out = np.zeros((len(texts), len(vocab)))
    for i, t in enumerate(texts):
        for g in grams(t):
            j = pos.get(g)
            if j is not None:
                out[i, j] = BOW_SCALE
    return out


@dataclass(frozen=True)
class Model:
    """Logistic regression: p = sigmoid(w · [embedding, word features, standardised hand features] + b)."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray  # of the hand features, for standardising
    scale: np.ndarray
    vocab: tuple[str, ...]
    threshold: float
    embedding_model: str
    meta: dict[str, Any]

    def design(self, texts: Sequence[str], vectors: np.ndarray, hands: np.ndarray) -> np.ndarray:
        return np.hstack([vectors, bag(texts, self.vocab), (hands - self.mean) / self.scale]).astype(np.float64)

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray, hands: np.ndarray) -> np.ndarray:
        z = self.design(texts, vectors, hands) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def to_json(self) -> str:
        return json.dumps({"embedding_model": self.embedding_model, "threshold": self.threshold,
                           "bias": self.bias, "weights": [round(float(w), 6) for w in self.weights],
                           "mean": [float(m) for m in self.mean], "scale": [float(x) for x in self.scale],
                           "vocab": list(self.vocab), "hand_features": list(HAND_FEATURES),
                           "bow_scale": BOW_SCALE, "meta": self.meta}, indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Model:
        d = json.loads(text)
        if d.get("hand_features") != list(HAND_FEATURES) or d.get("bow_scale") != BOW_SCALE:
            raise ValueError("the correction model was trained with other features; retrain it")
        return cls(np.asarray(d["weights"], dtype=np.float64), float(d["bias"]),
                   np.asarray(d["mean"], dtype=np.float64), np.asarray(d["scale"], dtype=np.float64),
                   tuple(d["vocab"]), float(d["threshold"]), str(d["embedding_model"]), dict(d.get("meta") or {}))


@functools.cache
def shipped_model() -> Model:
    return Model.from_json(MODEL_FILE.read_text(encoding="utf-8"))


def train(texts: Sequence[str], vectors: np.ndarray, hands: np.ndarray, labels: np.ndarray, *,
          l2: float = 1.0, threshold: float = 0.5, embedding_model: str = "", meta: dict[str, Any] | None = None,
          iterations: int = 60) -> Model:
    """Class-balanced, L2-regularised logistic regression fitted by Newton's method (numpy only); the
    vocabulary comes from these training texts only."""
    mean = hands.mean(axis=0)
    scale = hands.std(axis=0)
    scale[scale == 0] = 1.0
    vocab = vocabulary(texts)
    x = np.hstack([vectors, bag(texts, vocab), (hands - mean) / scale]).astype(np.float64)
    x1 = np.hstack([x, np.ones((len(x), 1))])
    y = labels.astype(np.float64)
    pos = max(y.sum(), 1.0)
    neg = max(len(y) - y.sum(), 1.0)
    sample = np.where(y > 0, len(y) / (2 * pos), len(y) / (2 * neg))
    reg = np.full(x1.shape[1], l2)
    reg[-1] = 0.0  # the bias is not regularised
    w = np.zeros(x1.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(x1 @ w, -30, 30)))
        grad = x1.T @ (sample * (p - y)) + reg * w
        hess = (x1 * (sample * p * (1 - p))[:, None]).T @ x1 + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Model(w[:-1], float(w[-1]), mean, scale, vocab, threshold, embedding_model, meta or {})


Embed = Callable[[list[str]], np.ndarray]


class Detector:
    """Scores (message, what Claude had just done) pairs with the shipped model, embedding the messages
    with `embed` (normalised vectors of the model the classifier was trained on)."""

    def __init__(self, embed: Embed, model: Model | None = None) -> None:
        self.embed = embed
        self.model = model or shipped_model()

    def scores(self, pairs: Sequence[tuple[str, str | None]]) -> list[float]:
        texts = [" ".join(t.split()) for t, _ in pairs]
        out = [0.0] * len(pairs)
        keep = [i for i, (t, c) in enumerate(pairs)
                if texts[i] and len(texts[i]) <= MAX_CHARS and not (c is not None and not c.strip())]
        if not keep:
            return out
        kept = [texts[i] for i in keep]
        vectors = self.embed(kept)
        hands = np.asarray([hand_features(pairs[i][0], pairs[i][1]) for i in keep], dtype=np.float64)
        for i, p in zip(keep, self.model.probabilities(kept, vectors, hands), strict=True):
            out[i] = float(p)
        return out

    def detect(self, pairs: Sequence[tuple[str, str | None]]) -> list[bool]:
        return [p >= self.model.threshold for p in self.scores(pairs)]
