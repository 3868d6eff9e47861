"""The bench scripts set up the environment they need: ``./dev bench NAME`` and ``bench/peers/run``.

A fake virtual environment (its ``python`` records how it was called) stands in for ``.venv``
through ``GSMGW_VENV``, so no test installs anything or touches the real one.
"""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys

import pytest

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def fake_venv(tmp_path: Path) -> Path:
    """A ``GSMGW_VENV`` that ``./dev`` takes as set up, whose python writes its argv to a file."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "argv"}\n', encoding="utf-8")
    python.chmod(0o755)
    (venv / ".gsmgw-installed").touch()  # newer than pyproject.toml: nothing to install
    return venv


def run(argv: list[str], venv: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GSMGW_VENV": str(venv)}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=15, check=False
    )


@pytest.mark.parametrize("name", ["codec", "codec.py", "bench/codec.py"])
def test_dev_bench_runs_the_script_with_the_venv_python(
    fake_venv: Path, tmp_path: Path, name: str
) -> None:
    done = run([str(REPO / "dev"), "bench", name, "--json"], fake_venv)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "argv").read_text().split() == ["bench/codec.py", "--json"]


def test_dev_bench_http_runs_the_http_api_script(fake_venv: Path, tmp_path: Path) -> None:
    done = run([str(REPO / "dev"), "bench", "http", "--json"], fake_venv)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "argv").read_text().split() == ["bench/http_api.py", "--json"]


def test_no_bench_script_shadows_a_standard_module() -> None:
    """``python bench/NAME.py`` puts bench/ first on sys.path: a bench/http.py broke them all."""
    names = {path.stem for path in (REPO / "bench").glob("*.py")}
    assert not names & set(sys.stdlib_module_names)


@pytest.mark.parametrize("name", [None, "nope", "gsmgw_node"])
def test_dev_bench_without_a_script_is_a_usage_error(fake_venv: Path, name: str | None) -> None:
    done = run([str(REPO / "dev"), "bench", *([name] if name else [])], fake_venv)
    assert done.returncode == 2
    assert "usage: ./dev bench NAME" in done.stderr


def test_peers_run_uses_the_venv_made_by_dev(fake_venv: Path, tmp_path: Path) -> None:
    """Not the system python3, which lacks aiomqtt on a fresh clone (issue 14)."""
    done = run([str(REPO / "bench" / "peers" / "run"), "--help"], fake_venv)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "argv").read_text().split() == ["-m", "bench.peers", "--help"]
