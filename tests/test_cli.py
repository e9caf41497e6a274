"""The CLI as a user runs it: a real subprocess, its output and exit code."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "costtracker", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
    )


def test_it_prints_its_version() -> None:
    from costtracker import __version__

    assert run("version").stdout.strip() == __version__


def test_it_shows_help() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("check", "serve", "db", "version"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COSTTRACKER_DATABASE_URL", "mysql://root@localhost/db"),
        ("COSTTRACKER_OPENAI_BASE_URL", "api.openai.com"),
        ("COSTTRACKER_SMTP_SECURITY", "tls-please"),
    ],
)
def test_check_names_a_malformed_setting_without_a_traceback(variable: str, value: str) -> None:
    result = run("check", env={variable: value})
    assert result.returncode != 0
    assert variable in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_check_passes_on_an_upgraded_database(tmp_path: Path) -> None:
    env = {"COSTTRACKER_DATA_DIR": str(tmp_path)}
    assert run("db", "upgrade", env=env).returncode == 0
    result = run("check", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "schema up to date" in result.stdout


def test_check_fails_when_the_database_does_not_answer() -> None:
    result = run("check", env={"COSTTRACKER_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert result.returncode == 1
    assert "COSTTRACKER_DATABASE_URL" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_bad_option_exits_2() -> None:
    result = run("serve", "--port", "notaport")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
