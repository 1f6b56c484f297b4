"""Secret redaction applied to every text before it is stored or embedded.

Each rule replaces the secret (only the secret: a URL keeps its user and host, an env line its name) by
`[REDACTED:<kind>]`. Rules are specific prefixes or shapes, so git SHAs, UUIDs, file names and code that
merely mentions a password are left alone."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

MARKER = "[REDACTED:{}]"

# (kind, pattern, group holding the secret: 0 = whole match)
_RULES: list[tuple[str, re.Pattern[str], int]] = [
    ("private_key", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.{0,20000}?-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,\-]*)",
        re.S), 0),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[0-9A-Z]{16}\b"), 0),
    ("aws_secret_key", re.compile(
        r"(?i)(?:aws)?_?secret_?(?:access)?_?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"), 1),
    ("anthropic_key", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{20,}"), 0),
    ("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"), 0),
    ("stripe_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"), 0),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"), 0),
    ("gitlab_token", re.compile(r"\bgl(?:pat|dt|rt|ptt|cbt)-[A-Za-z0-9_\-]{20,}"), 0),
    ("slack_token", re.compile(r"\bxox[abposre]-[A-Za-z0-9\-]{10,}"), 0),
    ("slack_webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]{20,}"), 0),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}"), 0),
    ("google_oauth_token", re.compile(r"\bya29\.[0-9A-Za-z_\-]{20,}"), 0),
    ("huggingface_token", re.compile(r"\bhf_[A-Za-z0-9]{30,}"), 0),
    ("npm_token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), 0),
    ("pypi_token", re.compile(r"\bpypi-AgE[A-Za-z0-9_\-]{50,}"), 0),
    ("sendgrid_key", re.compile(r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"), 0),
    ("twilio_key", re.compile(r"\bSK[0-9a-f]{32}\b"), 0),
    ("digitalocean_token", re.compile(r"\bdo[porp]_v1_[a-f0-9]{64}\b"), 0),
    ("azure_storage_key", re.compile(r"(?i)AccountKey=([A-Za-z0-9+/]{60,}={0,2})"), 1),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"), 0),
    ("bearer_token", re.compile(r"(?i)\bBearer\s+([A-Za-z0-9._~+/\-]{20,}=*)"), 1),
    # scheme://user:password@host — the password only; `$VAR`/`${VAR}`/`<placeholder>` are not secrets
    ("url_password", re.compile(
        r"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,20}://[^\s:/@'\"\[\]]{0,100}:([^\s@/'\"$<{\[\]]{1,200})@"), 1),
    # KEY=value / KEY: value where the NAME looks secret (upper-case env style, optional export), at a line
    # start or after a shell separator; `$VAR`, `${VAR}`, `<placeholder>` and code like `os.environ[...]` are not
    ("env_secret", re.compile(
        r"(?m)(?:^|(?<=[\s;&|]))(?:export[ \t]+)?(?=[A-Z])[A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|"
        r"API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH_KEY|CLIENT_KEY)[A-Z0-9_]*[ \t]*[=:][ \t]*"
        r"([\"']?)([^\s\"'$<{(#\[\]][^\s\"'#\[\](){}]{5,})\1(?=$|[\s;&|,])"), 2),
    # "api_key": "value" in JSON/YAML/code literals
    ("quoted_secret", re.compile(
        r"(?i)[\"']?\b(?:api[_\-]?key|api[_\-]?secret|client[_\-]?secret|secret[_\-]?key|access[_\-]?token|"
        r"auth[_\-]?token|refresh[_\-]?token|password|passwd)[\"']?[ \t]*[:=][ \t]*[\"']"
        r"([^\"'\s$<{]{8,})[\"']"), 1),
]


# Lower-case fragments each rule's match must contain: a rule runs only when one occurs in the text, so
# ordinary text (most of a transcript) costs a few substring checks instead of two dozen regex scans.
_NEEDLES: dict[str, tuple[str, ...]] = {
    "private_key": ("private key",),
    "aws_access_key": ("akia", "asia", "abia", "acca", "aida", "aroa"),
    "aws_secret_key": ("secret",),
    "anthropic_key": ("sk-ant-",),
    "openai_key": ("sk-",),
    "stripe_key": ("_live_", "_test_"),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "gitlab_token": ("glpat-", "gldt-", "glrt-", "glptt-", "glcbt-"),
    "slack_token": ("xox",),
    "slack_webhook": ("hooks.slack.com",),
    "google_api_key": ("aiza",),
    "google_oauth_token": ("ya29.",),
    "huggingface_token": ("hf_",),
    "npm_token": ("npm_",),
    "pypi_token": ("pypi-",),
    "sendgrid_key": ("sg.",),
    "twilio_key": ("sk",),
    "digitalocean_token": ("_v1_",),
    "azure_storage_key": ("accountkey=",),
    "jwt": ("eyj",),
    "bearer_token": ("bearer",),
    "url_password": ("://",),
    "env_secret": ("secret", "token", "passw", "passphrase", "api_key", "apikey", "access_key", "accesskey",
                   "private_key", "privatekey", "credential", "auth_key", "client_key"),
    "quoted_secret": ("key", "secret", "token", "passw"),
}


def _replacer(kind: str, group: int, counts: Counter[str]) -> Callable[[re.Match[str]], str]:
    def sub(m: re.Match[str]) -> str:
        secret = m.group(group)
        if not secret or secret.startswith("[REDACTED:"):
            return m.group(0)
        counts[kind] += 1
        if group == 0:
            return MARKER.format(kind)
        start, end = m.start(group) - m.start(0), m.end(group) - m.start(0)
        whole = m.group(0)
        return whole[:start] + MARKER.format(kind) + whole[end:]

    return sub


ALL_RULES = frozenset(_NEEDLES)
_FLAT = [(n, kind) for kind, needles in _NEEDLES.items() for n in needles]
_SHORTEST = 8  # no rule matches fewer characters


def active_rules(raw: bytes) -> frozenset[str]:
    """The rules whose needles occur anywhere in `raw` (e.g. the bytes of a transcript read in one run):
    decoding JSON never creates a needle that was absent from its source, so other rules can be skipped for
    every string parsed from it. One scan per needle over the whole file instead of per message."""
    low = raw.lower().replace(b"\\/", b"/")  # JSON may escape '/'
    return frozenset(kind for n, kind in _FLAT if n.encode() in low)


def redact(text: str, counts: Counter[str] | None = None, rules: frozenset[str] = ALL_RULES) -> str:
    """`text` with every secret replaced by a marker naming its kind; kinds are counted in `counts`.
    `rules` narrows the rules tried (see `active_rules`). Also drops what PostgreSQL cannot store (NUL,
    lone surrogates), since every imported text passes through here."""
    if counts is None:
        counts = Counter()
    if "\x00" in text:  # PostgreSQL text cannot store NUL; it carries no words
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from "\ud83d"-style JSON escapes cannot be stored either
        text = text.encode("utf-8", "replace").decode("utf-8")
    if len(text) < _SHORTEST or not rules:
        return text
    low = text.lower()
    for kind, pattern, group in _RULES:
        if kind in rules and any(n in low for n in _NEEDLES[kind]):
            text = pattern.sub(_replacer(kind, group, counts), text)
    return text


# structural fields of content blocks: ids and type names, never secrets
_STRUCTURAL = frozenset({"type", "id", "tool_use_id", "name", "signature"})


def redact_value(value: Any, counts: Counter[str], rules: frozenset[str] = ALL_RULES) -> Any:
    """Redact every string inside a JSON-like value (tool inputs, structured blocks)."""
    if isinstance(value, str):
        return redact(value, counts, rules)
    if isinstance(value, list):
        return [redact_value(v, counts, rules) for v in value]
    if isinstance(value, dict):
        return {k: redact(v, counts, frozenset()) if k in _STRUCTURAL and isinstance(v, str)
                else redact_value(v, counts, rules) for k, v in value.items()}
    return value
