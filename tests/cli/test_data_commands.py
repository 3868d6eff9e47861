"""``gsmgw outbox``, ``inbox`` and ``optout`` on a real database, with no daemon running."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from gsmgw.cli import build_parser
from gsmgw.config import OptOutConfig
from gsmgw.dispatch import Inbound
from gsmgw.models import SendRequest
from gsmgw.sms import encode_deliver
from gsmgw.store import Store

WHEN = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


async def cli(argv: list[str]) -> int:
    """Run one command in this event loop, as ``gsmgw ARGV`` would."""
    args: argparse.Namespace = build_parser().parse_args(argv)
    module = importlib.import_module(args._module)
    code: int = await module.run(args)
    return code


def lines_json(capsys: pytest.CaptureFixture[str]) -> list[Any]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "gsmgw.toml"
    path.write_text(
        "[gateway]\nnode = 't'\ndatabase = 'gsmgw.db'\ncontrol = 'c.sock'\n"
        "default_region = 'DE'\n[mqtt]\nurl = ''\n"
        "[[modem]]\nid = 'sim1'\nport = 'sim:one'\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
async def filled(config_file: Path) -> Path:
    """The database with three outbound and two inbound messages."""
    async with Store(config_file.parent / "gsmgw.db") as store:
        for n in (1, 2, 3):
            await store.enqueue([SendRequest(to=(f"+4917000000{n}",), text=f"m{n}", id=f"m{n}")])
        receiver = Inbound(store, OptOutConfig())
        for sender, text in (("+491701111111", "first"), ("+491702222222", "second")):
            (pdu,) = encode_deliver(sender, text, timestamp=WHEN)
            await receiver.pdu_received("sim1", pdu)
    return config_file


async def test_outbox_list_and_show(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(["outbox", "list", "-c", str(filled), "--json"]) == 0
    (listed,) = lines_json(capsys)
    assert [m["id"] for m in listed] == ["m3", "m2", "m1"]
    assert {m["state"] for m in listed} == {"queued"}

    assert await cli(["outbox", "show", "m2", "-c", str(filled), "--json"]) == 0
    (shown,) = lines_json(capsys)
    assert (shown["id"], shown["to"], shown["text"], shown["parts"]) == (
        "m2",
        "+49170000002",
        "m2",
        [],
    )
    assert await cli(["outbox", "-c", str(filled)]) == 0
    assert "m1" in capsys.readouterr().out


async def test_outbox_cancel_and_retry_without_daemon(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(["outbox", "cancel", "m1", "-c", str(filled), "--json"]) == 0
    assert lines_json(capsys) == [{"id": "m1", "state": "cancelled"}]
    assert await cli(["outbox", "list", "--state", "cancelled", "-c", str(filled), "--json"]) == 0
    assert [m["id"] for m in lines_json(capsys)[0]] == ["m1"]

    assert await cli(["outbox", "retry", "m1", "-c", str(filled), "--json"]) == 0
    assert lines_json(capsys) == [{"id": "m1", "state": "queued"}]


async def test_outbox_errors(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(["outbox", "show", "nope", "-c", str(filled)]) == 1
    assert "no outbound message 'nope'" in capsys.readouterr().err
    assert await cli(["outbox", "cancel", "-c", str(filled)]) == 2
    missing = filled.parent / "missing.toml"
    assert await cli(["outbox", "-c", str(missing)]) == 1
    assert "missing.toml" in capsys.readouterr().err


async def test_inbox_list_show_export(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(["inbox", "-c", str(filled), "--json"]) == 0
    (listed,) = lines_json(capsys)
    assert [m["text"] for m in listed] == ["second", "first"]

    assert await cli(["inbox", "show", listed[0]["id"], "-c", str(filled), "--json"]) == 0
    (shown,) = lines_json(capsys)
    assert shown["from"] == "+491702222222"
    assert shown["received_at"] == WHEN.isoformat()
    (raw,) = shown["raw_parts"]
    assert bytes.fromhex(raw["pdu"]) == encode_deliver("+491702222222", "second", timestamp=WHEN)[0]

    assert await cli(["inbox", "export", "-c", str(filled)]) == 0
    exported = lines_json(capsys)
    assert [m["text"] for m in exported] == ["first", "second"]  # oldest first, one per line

    assert await cli(["inbox", "export", "--from", "+491701111111", "-c", str(filled)]) == 0
    assert [m["text"] for m in lines_json(capsys)] == ["first"]


async def test_inbox_shows_undecodable_pdus_kept_raw(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with Store(config_file.parent / "gsmgw.db") as store:
        await Inbound(store, OptOutConfig()).pdu_received("sim1", bytes.fromhex("0791FFFF"))

    assert await cli(["inbox", "-c", str(config_file), "--json"]) == 0
    ((kept,),) = lines_json(capsys)
    assert kept["error"]["code"] == "undecodable_pdu"
    assert (kept["modem"], kept["pdu_hex"]) == ("sim1", "0791FFFF")
    assert await cli(["inbox", "-c", str(config_file)]) == 0
    assert f"{kept['id']}" in capsys.readouterr().out
    assert await cli(["inbox", "show", kept["id"], "-c", str(config_file)]) == 0
    shown = capsys.readouterr().out
    assert "0791FFFF" in shown
    assert "error:" in shown


async def test_optout_add_list_remove(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(["optout", "add", "0170 1234567", "-c", str(filled), "--json"]) == 0
    assert lines_json(capsys) == [{"number": "+491701234567", "action": "add", "changed": True}]
    assert await cli(["optout", "add", "+491701234567", "-c", str(filled)]) == 0
    assert "already" in capsys.readouterr().out

    assert await cli(["optout", "list", "-c", str(filled), "--json"]) == 0
    ((entry,),) = lines_json(capsys)
    assert (entry["number"], entry["source"]) == ("+491701234567", "cli")

    assert await cli(["optout", "remove", "+491701234567", "-c", str(filled), "--json"]) == 0
    assert lines_json(capsys)[0]["changed"] is True
    assert await cli(["optout", "add", "not-a-number", "-c", str(filled)]) == 2


async def test_status_without_daemon(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(["status", "-c", str(filled)]) == 1
    assert "gsmgw run" in capsys.readouterr().err
