"""Operations, run as a user would run them: backup.sh / restore.sh, the scheduler, import-cron.sh, the wheel,
quickstart.sh in a fresh copy of the repository, and the static checks of the shell scripts and Docker files."""

from __future__ import annotations

import hashlib
import json
import os
import plistlib
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg2
import pytest
import yaml

from api_helpers import seed, sql
from conftest import FIXTURES, ROOT, free_port, wait_until
from llm_server import ScriptedLLM

SCRIPTS = ["backup.sh", "restore.sh", "import-cron.sh", "setup-launchagent.sh", "quickstart.sh"]
REPLY = json.dumps({"memories": [{"content": "The importer keeps a read offset per transcript file.",
                                  "tags": ["decision"]}]})


def tool_or_skip(name: str) -> str:
    path = shutil.which(name) or (shutil.which(name, path=str(Path(sys.executable).parent)))
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{name} is missing (scripts/check installs it)")
    pytest.skip(f"{name} is not installed")


def run(cmd: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=kw.pop("timeout", 600), **kw)


def store_env(dsn: str, data: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": dsn, "MEMORY_DATA_DIR": str(data), "CLAUDE_MEMORY_MODE": "local",
            "TORCH_THREADS": "1", **extra}


SNAPSHOT = {
    "memories": "SELECT id, content, tags, source, project, session_id, created_at, deleted_at, superseded_by,"
                " embedding::text FROM memories ORDER BY id",
    "chunks": "SELECT memory_id, chunk_no, embedding::text FROM memory_chunks ORDER BY 1, 2",
    "messages": "SELECT session_id, uuid, parent_uuid, role, kind, text, timestamp, blocks::text, seq FROM messages"
                " ORDER BY uuid",
    "sessions": "SELECT session_id, project, title, message_count, distilled FROM imported_sessions ORDER BY 1",
}


def snapshot(dsn: str) -> dict[str, list[tuple]]:
    return {k: sql(dsn, q) for k, q in SNAPSHOT.items()}


def _drop_leftovers(server_dsn: str, dsn: str) -> None:
    name = dsn.rsplit("/", 1)[1].split("?")[0]
    admin = psycopg2.connect(server_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (name + "_%",))
        for (db,) in cur.fetchall():
            cur.execute(f'DROP DATABASE IF EXISTS "{db}"')
    admin.close()


# --- backup and restore --------------------------------------------------------------------------------
def test_backup_then_restore_brings_back_the_same_store(dsn, server_dsn, embedder, tmp_path):
    seed(dsn, tmp_path / "data", embedder)
    env = store_env(dsn, tmp_path / "data")
    before = snapshot(dsn)
    assert len(before["memories"]) > 20 and len(before["messages"]) > 400 and before["chunks"]
    out = run(["bash", str(ROOT / "backup.sh")], env)
    assert out.returncode == 0, out.stderr
    dumps = sorted((tmp_path / "data" / "backups").glob("claude-memory-*.pgdump"))
    assert len(dumps) == 1 and f"backed up {len(before['memories'])} memories" in out.stdout
    sql(dsn, "TRUNCATE memories, memory_chunks, messages, imported_sessions CASCADE")
    assert sql(dsn, "SELECT count(*) FROM memories") == [(0,)]
    out = run(["bash", str(ROOT / "restore.sh"), str(dumps[0]), "--yes"], env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"restored {len(before['memories'])} memories" in out.stdout
    assert f"{len(before['messages'])} archived messages, {len(before['sessions'])} sessions" in out.stdout
    assert snapshot(dsn) == before
    _drop_leftovers(server_dsn, dsn)


def test_a_corrupt_or_truncated_dump_fails_clearly_and_changes_nothing(dsn, server_dsn, embedder, tmp_path):
    seed(dsn, tmp_path / "data", embedder)
    env = store_env(dsn, tmp_path / "data")
    assert run(["bash", str(ROOT / "backup.sh"), "--dir", str(tmp_path / "b")], env).returncode == 0
    good = next((tmp_path / "b").glob("*.pgdump")).read_bytes()
    before = snapshot(dsn)
    bad = {"truncated.pgdump": good[: len(good) // 2], "garbage.pgdump": b"PGDMP not really" + os.urandom(4000),
           "empty.pgdump": b""}
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
        out = run(["bash", str(ROOT / "restore.sh"), str(tmp_path / name), "--yes"], env)
        assert out.returncode != 0, name
        message = out.stderr.strip().splitlines()[-1]
        assert message.startswith("claude-memory:") and ("unchanged" in message or "nothing was changed" in message), \
            (name, out.stderr)
        assert "Traceback" not in out.stderr
        assert snapshot(dsn) == before, name
    names = {r[0] for r in sql(server_dsn, "SELECT datname FROM pg_database")}
    assert not any(n.startswith(dsn.rsplit("/", 1)[1] + "_") for n in names)  # no half-restored database left


def test_restore_refuses_while_something_holds_the_database(dsn, embedder, tmp_path):
    seed(dsn, tmp_path / "data", embedder)
    env = store_env(dsn, tmp_path / "data")
    assert run(["bash", str(ROOT / "backup.sh")], env).returncode == 0
    dump = next((tmp_path / "data" / "backups").glob("*.pgdump"))
    holder = psycopg2.connect(dsn, application_name="a-running-job")
    try:
        out = run(["bash", str(ROOT / "restore.sh"), str(dump), "--yes"], env)
    finally:
        holder.close()
    assert out.returncode != 0 and "in use by" in out.stderr and "a-running-job" in out.stderr
    refused = run(["bash", str(ROOT / "restore.sh"), str(dump)], env, stdin=subprocess.DEVNULL)
    assert refused.returncode != 0 and "--yes" in refused.stderr


def test_backups_keep_the_newest_backup_keep(dsn, tmp_path):
    env = store_env(dsn, tmp_path / "data", BACKUP_KEEP="2")
    subprocess.run([sys.executable, "-m", "claude_memory", "migrate"], env=env, check=True, capture_output=True)
    for _ in range(3):
        assert run(["bash", str(ROOT / "backup.sh")], env).returncode == 0
        time.sleep(1.1)  # dump names carry the second
    assert len(list((tmp_path / "data" / "backups").glob("*.pgdump"))) == 2


# --- the scheduler ---------------------------------------------------------------------------------------
def test_setup_print_writes_units_systemd_accepts_and_a_plist_with_an_hourly_interval(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path / "home"), "MEMORY_DATA_DIR": str(tmp_path / "data")}
    linux, mac = tmp_path / "linux", tmp_path / "mac"
    for platform, folder in (("linux", linux), ("macos", mac)):
        out = run(["bash", str(ROOT / "setup-launchagent.sh"), "--server", "--print", str(folder),
                   "--platform", platform], env)
        assert out.returncode == 0, out.stderr
    service = (linux / "claude-memory-import.service").read_text()
    timer = (linux / "claude-memory-import.timer").read_text()
    assert f"ExecStart=/bin/bash {ROOT / 'import-cron.sh'}" in service and "Type=oneshot" in service
    assert "OnCalendar=hourly" in timer and "Persistent=true" in timer
    assert "ExecStart=" in (linux / "claude-memory.service").read_text()
    assert "import-cron.sh" in (linux / "crontab.txt").read_text()
    if shutil.which("systemd-analyze"):
        units = [str(linux / n) for n in ("claude-memory-import.service", "claude-memory-import.timer")]
        check = run(["systemd-analyze", "verify", *units], env)
        assert check.returncode == 0, check.stderr
    agent = plistlib.loads((mac / "com.claude-memory.import.plist").read_bytes())
    assert agent["StartInterval"] == 3600 and agent["ProgramArguments"] == ["/bin/bash", str(ROOT / "import-cron.sh")]
    assert agent["EnvironmentVariables"]["MEMORY_DATA_DIR"] == str(tmp_path / "data")
    server = plistlib.loads((mac / "com.claude-memory.server.plist").read_bytes())
    assert server["KeepAlive"] is True and server["ProgramArguments"][-1] == "serve"
    assert not (tmp_path / "home").exists()  # --print installs nothing


def test_setup_installs_and_uninstalls_a_crontab_line_without_user_systemd(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    table = tmp_path / "crontab"
    (bin_dir / "crontab").write_text(  # a stand-in crontab: -l prints the table, - replaces it
        f'#!/bin/sh\nif [ "$1" = -l ]; then cat "{table}" 2>/dev/null || exit 1; else cat > "{table}"; fi\n')
    (bin_dir / "systemctl").write_text("#!/bin/sh\necho 'Failed to connect to bus' >&2\nexit 1\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    table.write_text("0 3 * * * /usr/bin/true # someone else's job\n")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path / "home")}
    script = ["bash", str(ROOT / "setup-launchagent.sh"), "--platform", "linux"]
    first = run(script, env)
    assert first.returncode == 0 and "installed an hourly crontab line" in first.stdout, first.stderr
    again = run(script, env)
    assert "already installed" in again.stdout
    lines = table.read_text().splitlines()
    assert len(lines) == 2 and "someone else's job" in lines[0] and "import-cron.sh" in lines[1]
    gone = run([*script, "--uninstall"], env)
    assert gone.returncode == 0 and table.read_text().splitlines() == lines[:1]


def _stub_cli(tmp_path: Path, body: str) -> Path:
    stub = tmp_path / "claude-memory-stub"
    stub.write_text("#!/usr/bin/env bash\n" + body)
    stub.chmod(0o755)
    return stub


def test_two_import_cron_runs_take_turns_and_the_llm_being_down_is_one_log_line(tmp_path):
    calls = tmp_path / "calls"
    stub = _stub_cli(tmp_path, f'echo "$1" >> "{calls}"\n'
                               'if [ "$1" = import ]; then sleep 3; echo "imported in 3.0 s"; fi\n'
                               'if [ "$1" = distill ] || [ "$1" = behavior ]; then\n'
                               '  echo "claude-memory: the LLM at http://127.0.0.1:9/v1 is unreachable" >&2; exit 2; fi\n')
    env = {**os.environ, "MEMORY_DATA_DIR": str(tmp_path / "data"), "CLAUDE_MEMORY_BIN": str(stub),
           "CLAUDE_MEMORY_MODE": "local"}
    first = subprocess.Popen(["bash", str(ROOT / "import-cron.sh")], env=env, stdout=subprocess.PIPE, text=True)
    wait_until(lambda: (tmp_path / "data" / "import-cron.lock" / "pid").exists(), timeout=10)
    second = run(["bash", str(ROOT / "import-cron.sh")], env)
    assert second.returncode == 0 and "holds the lock" in second.stdout
    assert first.wait(30) == 0
    assert calls.read_text().split() == ["import", "distill", "signals", "behavior"]
    log = (tmp_path / "data" / "logs" / "import-cron.log").read_text()
    assert log.count("distill: skipped, the LLM is unreachable") == 1 and "import: done" in log
    assert "skipped: another run" in log
    third = run(["bash", str(ROOT / "import-cron.sh")], env)  # the lock was released
    assert third.returncode == 0 and "holds the lock" not in third.stdout


def test_import_cron_keeps_its_log_within_bounds_on_a_huge_output(tmp_path):
    stub = _stub_cli(tmp_path, 'if [ "$1" = import ]; then for i in $(seq 1 60000); do\n'
                               '  echo "line $i of a very chatty import, padded to make it longer than usual"; done; fi\n')
    env = {**os.environ, "MEMORY_DATA_DIR": str(tmp_path / "data"), "CLAUDE_MEMORY_BIN": str(stub),
           "CLAUDE_MEMORY_MODE": "local", "LOG_MAX_BYTES": "200000", "LOG_KEEP": "3"}
    out = run(["bash", str(ROOT / "import-cron.sh")], env, timeout=300)
    assert out.returncode == 0, out.stderr
    logs = sorted((tmp_path / "data" / "logs").glob("import-cron.log*"))
    assert [p.name for p in logs] == ["import-cron.log", "import-cron.log.1", "import-cron.log.2", "import-cron.log.3"]
    assert all(p.stat().st_size <= 200_000 + 100 * 4100 for p in logs)
    assert sum(p.stat().st_size for p in logs) < 4 * (200_000 + 100 * 4100)


# --- the wheel ---------------------------------------------------------------------------------------------
def test_a_wheel_installed_elsewhere_serves_from_an_empty_data_directory(tmp_path):
    wheels = tmp_path / "wheels"
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels),
                 str(ROOT)], dict(os.environ))
    assert built.returncode == 0, built.stderr
    wheel = next(wheels.glob("claude_memory-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    assert run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
               dict(os.environ)).returncode == 0
    # the dependencies come from the test environment (no network); the package itself only from the wheel
    site = next((venv / "lib").glob("python*/site-packages"))
    deps = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site / "deps.pth").write_text("\n".join(deps) + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    port = free_port()
    data = tmp_path / "empty-data"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")}
    env.update({"MEMORY_DATA_DIR": str(data), "MEMORY_PORT": str(port), "TORCH_THREADS": "1"})
    located = run([str(py), "-c", "import claude_memory, sys; print(claude_memory.__file__)"], env, cwd=work)
    assert str(venv) in located.stdout, located.stdout  # not the checkout's copy
    version = run([str(venv / "bin" / "claude-memory"), "--version"], env, cwd=work)
    assert version.stdout.startswith("claude-memory ")
    proc = subprocess.Popen([str(venv / "bin" / "claude-memory"), "serve"], env=env, cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def up() -> bool:
            assert proc.poll() is None, "the server exited"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=180, interval=0.5)
        status = httpx.get(f"http://127.0.0.1:{port}/api/status").json()
        assert status["database"]["reachable"] and status["memories"] == 0
        assert httpx.get(f"http://127.0.0.1:{port}/ui/").status_code == 200  # the built UI is in the wheel
        dsn = f"postgresql://postgres:@/postgres?host={data / 'pgdata'}"
        applied = sql(dsn, "SELECT count(*) FROM schema_migrations")[0][0]
        assert applied == len(list((ROOT / "migrations").glob("*.sql")))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


# --- quickstart.sh ---------------------------------------------------------------------------------------
def _fresh_copy(dest: Path) -> Path:
    """The repository's tracked files as they are in the working tree, with the already built .venv (whose
    install stamp must match, so the copy's scripts/install never re-installs the shared venv from the copy)."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    if not (ROOT / ".venv" / f".installed-{digest}").exists():
        pytest.fail("the .venv is not installed for this pyproject.toml: run scripts/install first")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        src, dst = ROOT / name.decode(), dest / name.decode()
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        elif src.is_file():
            shutil.copy2(src, dst)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest


def _stand_in_claude(folder: Path, record: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    claude = folder / "claude"
    claude.write_text(  # records every call; `mcp get` succeeds once `mcp add` was called
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> "{record}"\n'
        f'if [ "$1 $2" = "mcp get" ]; then grep -q "^mcp add" "{record}"; exit $?; fi\n'
        "exit 0\n")
    claude.chmod(0o755)


def test_quickstart_sets_everything_up_once_and_a_second_run_changes_nothing(dsn, tmp_path):
    repo = _fresh_copy(tmp_path / "repo")
    record = tmp_path / "claude-calls"
    _stand_in_claude(tmp_path / "bin", record)
    projects = tmp_path / "projects"
    shutil.copytree(FIXTURES / "claude_code" / "projects", projects)
    llm = ScriptedLLM(lambda req: (200, REPLY, 0.0))
    port = free_port()
    data = tmp_path / "data"
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "HOME": str(tmp_path / "home"),
           "CLAUDE_CONFIG_DIR": str(tmp_path / "home" / ".claude"), "CLAUDE_PROJECTS_DIR": str(projects),
           "MEMORY_DATA_DIR": str(data), "DATABASE_URL": dsn, "MEMORY_PORT": str(port), "OLLAMA_URL": llm.url,
           "TORCH_THREADS": "1", "CLAUDE_MEMORY_MODE": "local"}
    try:
        first = run(["bash", str(repo / "quickstart.sh"), "--yes", "--local"], env, stdin=subprocess.DEVNULL)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        sessions = sql(dsn, "SELECT count(*), count(*) FILTER (WHERE distilled), count(*) FILTER (WHERE"
                            " signals_extracted) FROM imported_sessions")[0]
        assert sessions[0] == 5 and sessions[1] > 0 and sessions[2] == sessions[0], sessions
        assert sql(dsn, "SELECT count(*) FROM memories WHERE 'distilled' = ANY(tags)")[0][0] > 0
        calls = record.read_text().splitlines()
        assert calls.count(f"mcp add --scope user --transport http claude-memory http://localhost:{port}/mcp") == 1
        hooks = json.loads((tmp_path / "home" / ".claude" / "settings.json").read_text())["hooks"]
        assert {"SessionStart", "SessionEnd"} <= set(hooks)
        assert (data / "units" / "claude-memory.service").is_file()  # no user systemd here: printed, not installed
        before = snapshot(dsn)

        second = run(["bash", str(repo / "quickstart.sh"), "--yes", "--local"], env, stdin=subprocess.DEVNULL)
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        for said in ("already installed", "already running", "nothing new to import",
                     "already registered", "hooks already installed"):
            assert said in second.stdout, said
        assert snapshot(dsn) == before
        assert record.read_text().splitlines().count(
            f"mcp add --scope user --transport http claude-memory http://localhost:{port}/mcp") == 1

        no_llm = run(["bash", str(repo / "quickstart.sh"), "--yes", "--local"],
                     {**env, "OLLAMA_URL": f"http://127.0.0.1:{free_port()}/v1"}, stdin=subprocess.DEVNULL)
        assert no_llm.returncode == 0 and "ollama pull" in no_llm.stdout and "signals" in no_llm.stdout
    finally:
        llm.close()
        pid_file = data / "server.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGINT)


# --- static checks -----------------------------------------------------------------------------------------
def test_every_shell_script_passes_shellcheck_is_strict_and_has_help():
    shellcheck = tool_or_skip("shellcheck")
    scripts = [ROOT / s for s in SCRIPTS] + sorted((ROOT / "scripts").iterdir())
    scripts = [p for p in scripts if p.is_file() and p.suffix in ("", ".sh") and p.read_text().startswith(("#!", "#"))]
    out = subprocess.run([shellcheck, "-x", *map(str, scripts)], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
    for path in scripts:
        text = path.read_text()
        if path.name != "common.sh":
            assert "set -euo pipefail" in text, path
    for name in SCRIPTS:
        help_ = subprocess.run(["bash", str(ROOT / name), "--help"], capture_output=True, text=True)
        assert help_.returncode == 0 and help_.stdout.startswith("Usage:"), name


def test_docker_files_are_clean_parse_and_keep_their_promises():
    hadolint = tool_or_skip("hadolint")
    lint = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    compose_bin = tool_or_skip("docker-compose")
    parsed = subprocess.run([compose_bin, "-f", str(ROOT / "docker-compose.yml"), "config"], capture_output=True,
                            text=True, env={**os.environ, "HOME": "/home/user"})
    assert parsed.returncode == 0, parsed.stderr
    config = yaml.safe_load(parsed.stdout)
    services = config["services"]
    assert set(services) == {"db", "mcp-server"}
    assert services["db"]["image"].startswith("pgvector/pgvector:") and "latest" not in services["db"]["image"]
    for name, svc in services.items():
        assert "healthcheck" in svc, name
        for port in svc.get("ports", []):
            published = port if isinstance(port, str) else f"{port.get('host_ip')}:{port.get('published')}"
            assert published.startswith("127.0.0.1:"), (name, port)
    assert "model-cache" in config["volumes"]
    volumes = json.dumps(services["db"]["volumes"])
    assert "data/postgres" in volumes
    docker = (ROOT / "Dockerfile").read_text()
    base = next(line.split()[1] for line in docker.splitlines() if line.startswith("FROM "))
    assert ":" in base and any(ch.isdigit() for ch in base.split(":")[1].split("-")[0]) and "latest" not in base
    assert "USER 10001" in docker and "HEALTHCHECK" in docker and "SentenceTransformer(" in docker
    assert "HF_HUB_OFFLINE=1" in docker and "TRANSFORMERS_OFFLINE=1" in docker
    for script in ("import_memories.py", "distill_sessions.py", "extract_signals.py", "behavioral_pass.py"):
        assert (ROOT / script).is_file()  # `docker compose run --rm mcp-server python <script>` keeps working
    assert "COPY *.py ./" in docker and "WORKDIR /app" in docker
