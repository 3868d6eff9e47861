"""``gsmgw run``: a config mistake names file, key and problem, and nothing starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_data_commands import cli


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[gateway]\nmax_parts = 0\n", "gateway.max_parts", "at least 1"),
        ("[gateway]\nencodin = 'auto'\n", "gateway.encodin", "did you mean 'encoding'"),
        ("[[modem]]\nid = 'a b'\nport = 'x'\n", "modem[0].id", "letters"),
        ("[gateway\n", "-", "not valid TOML"),
    ],
)
async def test_config_errors_exit_1_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str, problem: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")

    assert await cli(["run", "-c", str(path)]) == 1

    err = capsys.readouterr().err
    assert f"{path}: {key}: " in err
    assert problem in err
    assert not (tmp_path / "gsmgw.db").exists()


async def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(["run", "-c", str(tmp_path / "none.toml")]) == 1
    assert "none.toml" in capsys.readouterr().err
