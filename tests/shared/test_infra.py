"""deploy/infra.py's supervisord configuration, read back by supervisor's own parser (no servers,
no supervisord started), and the dependency split around the mail sink."""

from __future__ import annotations

import ast
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
from supervisor.options import ServerOptions

from deploy import broker, infra, kafka_auth, processes, supervision

ROOT = Path(__file__).resolve().parents[2]

# Values a shell environment really holds; each must reach the program unchanged.
TRICKY_ENV = {
    "PERCENT": "50% off %(here)s",
    "COMMA_EQUALS": "a,b=c",
    "SPACES": "a b  c",
    "HASH_SEMICOLON": "a#b;c",
    "BACKSLASH": r"C:\path\to",
    "APOSTROPHE": "it's",
    "EMPTY": "",
    "URL": "postgresql://u:p%40ss@h:5/db?x=1&y=2",
    "UNICODE": "héllo ✓",
    "DOLLAR": "$HOME",
}
# Values supervisor cannot read back unchanged: left out, with a message, never mangled.
UNQUOTABLE_ENV = {"QUOTE": 'say "hi"', "NEWLINE": "a\nb", "COMMENT": "a ;b", "EDGE": "'x'"}


def _parse(tmp_path: Path, *group_files: str) -> dict[str, Any]:
    """The process groups supervisord would build from a configuration with these group files."""
    conf = tmp_path / "supervisord.conf"
    main = f"[supervisord]\nlogfile={tmp_path}/supervisord.log\npidfile={tmp_path}/supervisord.pid\n"
    conf.write_text("\n".join([main, *group_files]))
    options = ServerOptions()
    options.realize(args=["-c", str(conf)])
    return {group.name: group for group in options.process_group_configs}


def test_the_main_configuration_has_a_unix_socket_and_no_tcp_port() -> None:
    text = supervision.render_main()
    assert "[unix_http_server]" in text and "[inet_http_server]" not in text
    assert f"file={supervision.SOCKET}" in text and f"serverurl=unix://{supervision.SOCKET}" in text
    assert f"pidfile={infra.LOG_DIR / 'supervisord.pid'}" in text
    assert f"files={supervision.GROUPS_DIR / '*.conf'}" in text


def test_platform_programs_read_back_with_the_callers_environment(tmp_path: Path) -> None:
    env = {**TRICKY_ENV, **UNQUOTABLE_ENV, "SHLVL": "2", "_": "/usr/bin/make"}
    programs = [
        supervision.Program(
            p.name,
            [a.format(python="/venv/bin/python", port=p.port) for a in p.argv],
            20 + i,
            environment=env,
        )
        for i, p in enumerate(infra.PROCESSES)
    ]
    groups = _parse(tmp_path, supervision.render_group(infra.GROUP, programs))
    configs = {c.name: c for c in groups[infra.GROUP].process_configs}
    assert list(configs) == [p.name for p in infra.PROCESSES]
    for p, program in zip(infra.PROCESSES, programs, strict=True):
        config = configs[p.name]
        assert shlex.split(config.command) == list(program.argv)
        assert str(p.port) in config.command
        assert config.environment == TRICKY_ENV, "volatile and unquotable variables are left out"
        assert (config.autostart, config.startsecs, config.stopwaitsecs) == (False, 5, 30)
        assert config.stopasgroup and config.killasgroup and config.redirect_stderr
        assert config.stdout_logfile == str(infra.LOG_DIR / f"{p.name}.log")
        assert config.stdout_logfile_maxbytes > 0 and config.stdout_logfile_backups > 0
        assert config.directory == str(ROOT)
        assert config.autorestart is not False


def test_environment_line_names_what_it_leaves_out() -> None:
    _, skipped = supervision.environment_line({**TRICKY_ENV, **UNQUOTABLE_ENV, "BAD-KEY": "x"})
    assert sorted(skipped) == sorted([*UNQUOTABLE_ENV, "BAD-KEY"])


def test_the_platform_group_carries_this_commands_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVCYCLE_INFRA_TEST", "passed through")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    programs = processes._programs()
    assert [p.name for p in programs] == [p.name for p in infra.PROCESSES]
    for program, proc in zip(programs, infra.PROCESSES, strict=True):
        env = program.environment
        assert env["REVCYCLE_INFRA_TEST"] == "passed through"
        assert env["DATABASE_URL"] == infra.database_url()
        # Each process gets its own Kafka principal only; the ops console and the sink none.
        assert env.get("KAFKA_USERNAME") == proc.principal, proc.name
        if proc.principal is None:
            assert "KAFKA_PASSWORD" not in env and "KAFKA_DEADLETTERS_PASSWORD" not in env
        else:
            assert env["KAFKA_BOOTSTRAP_SERVERS"] == infra.kafka_bootstrap()
            assert env["KAFKA_USERNAME"] == proc.name and env["KAFKA_DEADLETTERS_USERNAME"] == "deadletters"
        if proc.principal is not None:
            assert env["KAFKA_PASSWORD"] == kafka_auth.passwords()[proc.principal]
    assert sorted(p.priority for p in programs) == [p.priority for p in programs]


def test_the_broker_is_a_group_of_its_own_without_the_callers_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever starts the broker (make up, the test suite), its section is the same, so a
    later `supervisorctl update kafka` never restarts it."""
    monkeypatch.setattr(broker, "_java", lambda: "/usr/bin/java")
    program = broker.program()
    monkeypatch.setenv("REVCYCLE_INFRA_TEST", "not for the broker")
    assert broker.program() == program and not program.environment
    groups = _parse(tmp_path, supervision.render_group(broker.PROGRAM, [program]))
    (config,) = groups[broker.PROGRAM].process_configs
    assert config.environment == {}
    assert shlex.split(config.command)[-2:] == ["kafka.Kafka", str(broker.KAFKA_PROPS)]
    assert config.priority < min(p.priority for p in processes._programs()), "starts first, stops last"


def test_supervisorctl_status_lines_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    out = (
        "kafka                            RUNNING   pid 101, uptime 0:10:02\n"
        "platform:claims                  RUNNING   pid 202, uptime 0:09:58\n"
        "platform:payments                FATAL     Exited too quickly (process log may have details)\n"
        "platform:smtp-sink               STOPPED   Not started\n"
    )
    monkeypatch.setattr(supervision, "running", lambda: True)
    monkeypatch.setattr(supervision, "ctl", lambda *args, **kwargs: out)
    assert supervision.pids() == {"kafka": 101, "claims": 202}
    payments = supervision.state("payments")
    assert payments is not None and payments.state == "FATAL" and payments.pid is None


def test_aiosmtpd_is_a_development_dependency_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [d.split(">")[0].split("=")[0].split("[")[0].strip() for d in project["dependencies"]]
    assert "aiosmtpd" not in names and "supervisor" in names
    extras = project["optional-dependencies"]
    assert "revcycle[sink]" in extras["dev"] and any(d.startswith("aiosmtpd") for d in extras["sink"])
    # docker compose runs the sink from the one application image, which installs that extra.
    assert "['optional-dependencies']['sink']" in (ROOT / "Dockerfile").read_text()
    for path in [*(ROOT / "services").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = (
                    [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                )
                assert not any(m.split(".")[0] == "aiosmtpd" for m in modules), path
