"""``[smpp]`` (SPEC.md "SMPP server"): listen, and users_file, refused when others may read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsmgw.config import SmppUser, parse_config
from gsmgw.errors import ConfigError

USERS = "# system_id:password[:mo]\nkannel:pw123456:mo\njasmin:s3cret\n"


def _users(tmp_path: Path, text: str = USERS, mode: int = 0o640) -> None:
    (tmp_path / "users").write_text(text, encoding="utf-8")
    (tmp_path / "users").chmod(mode)


def test_smpp_is_off_by_default_and_reads_its_users(tmp_path: Path) -> None:
    assert not parse_config("").smpp.enabled
    _users(tmp_path)
    text = "[smpp]\nlisten = '127.0.0.1:2775'\nusers_file = 'users'\n"
    smpp = parse_config(text, base=tmp_path).smpp
    assert (smpp.enabled, smpp.host, smpp.port) == (True, "127.0.0.1", 2775)
    assert smpp.users == (
        SmppUser(system_id="kannel", password="pw123456", mo=True),
        SmppUser(system_id="jasmin", password="s3cret", mo=False),
    )
    assert smpp.mo_users() == ("kannel",)
    assert "pw123456" not in repr(smpp)


def test_modem_number(tmp_path: Path) -> None:
    text = "[[modem]]\nid = 'a'\nport = 'sim:a'\nnumber = '+491701234567'\n"
    assert parse_config(text).modems[0].number == "+491701234567"
    with pytest.raises(ConfigError) as caught:
        parse_config("[[modem]]\nid = 'a'\nport = 'sim:a'\nnumber = 'mine'\n")
    assert caught.value.key == "modem[0].number"


@pytest.mark.parametrize(
    ("smpp", "users", "mode", "key", "problem"),
    [
        ("listen = '127.0.0.1:2775'", USERS, 0o640, "smpp.users_file", "required"),
        ("listen = '2775'", USERS, 0o640, "smpp.listen", "HOST:PORT"),
        ("users_file = 'users'", USERS, 0o644, "smpp.users_file", "readable by others"),
        ("users_file = 'users'", "kannel\n", 0o600, "smpp.users_file", "line 1"),
        ("users_file = 'users'", "a:b:c\n", 0o600, "smpp.users_file", "line 1"),
        ("users_file = 'users'", "sixteen-chars-id:pw\n", 0o600, "smpp.users_file", "1-15"),
        ("users_file = 'users'", "kannel:ninechars\n", 0o600, "smpp.users_file", "1-8"),
        ("users_file = 'users'", "kannel:\n", 0o600, "smpp.users_file", "1-8"),
        ("users_file = 'users'", "a:b\na:c\n", 0o600, "smpp.users_file", "twice"),
        ("users_file = 'users'", "# none\n", 0o600, "smpp.users_file", "no user"),
        ("users_file = 'nope'", USERS, 0o600, "smpp.users_file", "cannot read"),
    ],
)
def test_smpp_config_errors(
    tmp_path: Path, smpp: str, users: str, mode: int, key: str, problem: str
) -> None:
    _users(tmp_path, users, mode)
    if "listen" not in smpp:
        smpp += "\nlisten = '127.0.0.1:2775'"
    with pytest.raises(ConfigError) as caught:
        parse_config(f"[smpp]\n{smpp}\n", base=tmp_path)
    assert (caught.value.key, problem in caught.value.problem) == (key, True)
    assert "pw123456" not in str(caught.value)
