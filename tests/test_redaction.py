"""Secrets are redacted before anything is stored or embedded; look-alikes are left alone."""

from __future__ import annotations

import json
from collections import Counter

from claude_memory.importers.redact import redact
from test_import_claude_code import do_import, rows

A = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
RSA = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n"
       "aFDrBz9vFqU4yB7w3bJ9Kx0b2vC7Y0a1Z8jBqZ1f3QIDAQABAoIBAFiW\n-----END RSA PRIVATE KEY-----")
SSH = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
       "QyNTUxOQAAACDc0CEl2vEaw4D4xFfO6gP0pZJvH6sE1I7bQz0bT3E1\n-----END OPENSSH PRIVATE KEY-----")

# (kind, text around the secret, the secret itself)
SECRETS = [
    ("aws_access_key", "export AWS_ACCESS_KEY_ID={}", "AKIAIOSFODNN7EXAMPLQ"),
    ("aws_access_key", "temporary creds {} from sts", "ASIAY34FZKBOKMUTVV7A"),
    ("aws_secret_key", "aws_secret_access_key = {}", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("anthropic_key", "ANTHROPIC key is {} ok", "sk-ant-api03-" + (A * 2)[:93]),
    ("openai_key", "client = OpenAI(api_key='{}')", "sk-proj-" + A[:48]),
    ("openai_key", "old key {}", "sk-" + A[10:58]),
    ("github_token", "git clone https://{}@github.com/o/r", "ghp_" + A[:36]),
    ("github_token", "token: {}", "github_pat_11ABCDEFG0" + A[:60]),
    ("github_token", "oauth {}", "gho_" + A[20:56]),
    ("gitlab_token", "GITLAB {}", "glpat-" + A[:20]),
    ("slack_token", "bot {}", "xoxb-123456789012-1234567890123-" + A[:24]),
    ("slack_webhook", "post to {}", "https://hooks.slack.com/services/T00000000/B00000000/" + A[:24]),
    ("stripe_key", "stripe {}", "sk_live_" + A[:24]),
    ("stripe_key", "restricted {}", "rk_test_" + A[5:29]),
    ("google_api_key", "maps key {}", "AIza" + A[:35]),
    ("jwt", "Cookie: session={}", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
                                 "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("private_key", "here is the key:\n{}\nuse it", RSA),
    ("private_key", "{}", SSH),
    ("url_password", "DATABASE_URL=postgres://admin:{}@db.example.com:5432/app", "S3cr3tPass"),
    ("url_password", "redis://:{}@cache:6379/0", "hunter2hunter2"),
    ("url_password", "mongodb+srv://svc:{}@cluster0.mongodb.net/test", "pa55w0rd!x"),
    ("env_secret", "DB_PASSWORD={}", "correcthorsebattery"),
    ("env_secret", "  SECRET_KEY: '{}'", "django-insecure-9x8y7z6w5v"),
    ("env_secret", "export STRIPE_WEBHOOK_SECRET={}", "whsec_9a8b7c6d5e4f3a2b"),
    ("huggingface_token", "HF {}", "hf_" + A[:34]),
    ("npm_token", "//registry.npmjs.org/:_authToken={}", "npm_" + A[:36]),
    ("sendgrid_key", "mail {}", "SG." + A[:22] + "." + A[10:53]),
    ("bearer_token", "curl -H 'Authorization: Bearer {}' https://api", "a1b2c3d4e5f6g7h8i9j0k1l2m3n4"),
    ("quoted_secret", '{{"client_secret": "{}"}}', "8f7d6a5b4c3e2f1a0b9c"),
]

LOOKALIKES = [
    "Fixed in commit 3f786850e387550fdab836ed7e6dc881de23001b (see also 9fceb02).",
    "The job id is 550e8400-e29b-41d4-a716-446655440000 and the trace is 7d8f9e1a-0b2c-4d3e-8f4a-5b6c7d8e9f00.",
    "Attached CleanShot 20241017 at 22.29.542x.png and aGVsbG8gd29ybGQgaW1hZ2U=.png from the paste.",
    "def check_password(password: str) -> bool:\n    return bcrypt.verify(password, self.password_hash)",
    "password = getpass.getpass('Password: ')\nif not password:\n    raise ValueError('password required')",
    "PASSWORD_MIN_LENGTH = 12\nTOKEN_TTL=3600\nAPI_KEY=${API_KEY}\nSECRET_KEY=os.environ['SECRET_KEY']",
    "Connect with postgresql://localhost:5432/app or http://localhost:8000/api?next=/home",
    "git clone git@github.com:owner/repo.git && ssh://git@github.com:22/owner/repo",
    "docker pull python@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "We use scikit-learn (sklearn) and the task-runner; the key insight is caching.",
    "Set the api_key parameter from the environment; never hard-code a password in settings.py.",
]


def test_every_kind_of_secret_is_replaced_by_a_marker_naming_it():
    assert len(SECRETS) >= 25 and len({k for k, _, _ in SECRETS}) >= 12
    for kind, template, secret in SECRETS:
        counts: Counter[str] = Counter()
        out = redact(template.format(secret), counts)
        assert secret not in out, (kind, out)
        assert f"[REDACTED:{kind}]" in out and counts[kind] >= 1, (kind, out)


def test_lookalikes_are_left_alone():
    for text in LOOKALIKES:
        counts: Counter[str] = Counter()
        assert redact(text, counts) == text and not counts, (text, counts)


def test_redaction_is_idempotent():
    once = redact("\n".join(t.format(s) for _, t, s in SECRETS))
    assert redact(once) == once


def test_imported_secrets_never_reach_memories_or_the_archive(runtime, tmp_path):
    folder = tmp_path / "projects" / "p"
    folder.mkdir(parents=True)
    lines, parent = [], None
    for i, (_, template, secret) in enumerate(SECRETS):
        uid = f"s-{i}"
        text = f"Note {i}: please remember this configuration detail for the deploy. " + template.format(secret)
        rec = {"type": "user", "sessionId": "sess", "uuid": uid, "parentUuid": parent, "cwd": "/srv/app",
               "timestamp": f"2026-01-01T00:{i:02d}:00Z", "message": {"role": "user", "content": text}}
        lines.append(json.dumps(rec))
        call = {"type": "assistant", "sessionId": "sess", "uuid": f"a-{i}", "parentUuid": uid, "cwd": "/srv/app",
                "timestamp": f"2026-01-01T00:{i:02d}:30Z",
                "message": {"id": f"msg-{i}", "role": "assistant", "content": [
                    {"type": "tool_use", "id": f"t{i}", "name": "Bash", "input": {"command": template.format(secret)}}]}}
        lines.append(json.dumps(call))
        parent = f"a-{i}"
    (folder / "sess.jsonl").write_text("\n".join(lines) + "\n")
    summary = do_import(runtime, claude_code_dir=tmp_path / "projects")
    assert summary.memories == len(SECRETS)
    assert sum(summary.redacted.values()) >= 2 * len(SECRETS)
    stored = "\n".join(r[0] for r in rows(runtime, "SELECT content FROM memories")
                       + rows(runtime, "SELECT text || coalesce(blocks::text, '') FROM messages")
                       + rows(runtime, "SELECT coalesce(title, '') FROM imported_sessions"))
    for _, _, secret in SECRETS:
        assert secret not in stored
        assert json.dumps(secret)[1:-1] not in stored  # nor in its JSON-escaped form inside blocks
    assert stored.count("[REDACTED:") >= 2 * len(SECRETS)
