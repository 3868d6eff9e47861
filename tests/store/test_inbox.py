"""The inbox: single parts, reassembly across a restart, duplicates, incomplete sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import json
from pathlib import Path

from gsmgw.models import InboundPart
from gsmgw.store import Store, StoreReader

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
SCTS = datetime(2026, 11, 24, 19, 0, 5, tzinfo=timezone(timedelta(hours=1)))


def part(
    text: str | None,
    *,
    concat: tuple[int, int, int] | None = None,
    raw: bytes | None = None,
    data: bytes | None = None,
) -> InboundPart:
    """Return an inbound part from +4917099 with a raw PDU unique to its content."""
    body = raw or f"{text}{data!r}{concat}".encode()
    return InboundPart(
        sender="+4917099",
        text=text,
        data=data,
        encoding="8bit" if data is not None else "gsm7",
        smsc="+491710760000",
        timestamp=SCTS,
        raw=body,
        concat=concat,
    )


async def test_single_part_is_a_message_and_published(store: Store) -> None:
    result = await store.store_incoming_part("sim1", part("Hello"), now=T0)
    assert not result.duplicate
    assert result.message is not None
    payload = result.message.to_json()
    assert payload == {
        "id": result.message.id,
        "from": "+4917099",
        "text": "Hello",
        "modem": "sim1",
        "received_at": "2026-11-24T19:00:05+01:00",
        "smsc": "+491710760000",
        "parts": 1,
        "encoding": "gsm7",
    }
    publications = await store.next_publications()
    assert [(p.topic, json.loads(p.payload)) for p in publications] == [("gsmgw/t/inbox", payload)]


async def test_data_message_carries_hex(store: Store) -> None:
    result = await store.store_incoming_part("sim1", part(None, data=b"\x01\xff"), now=T0)
    assert result.message is not None
    assert result.message.to_json()["data_hex"] == "01FF"
    assert "text" not in result.message.to_json()


async def test_duplicates_are_recognised(store: Store) -> None:
    first = await store.store_incoming_part("sim1", part("Hi", raw=b"\x07\x91"), now=T0)
    again = await store.store_incoming_part("sim1", part("Hi", raw=b"\x07\x91"), now=T0)
    other_modem = await store.store_incoming_part("sim2", part("Hi", raw=b"\x07\x91"), now=T0)
    assert (first.duplicate, again.duplicate, other_modem.duplicate) == (False, True, False)
    assert again.message is None


async def test_multipart_reassembles_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    async with Store(path) as store:
        result = await store.store_incoming_part("sim1", part("world", concat=(9, 2, 3)), now=T0)
        assert result.message is None
        dup = await store.store_incoming_part("sim1", part("world", concat=(9, 2, 3)), now=T0)
        assert dup.duplicate
    async with Store(path) as store:
        await store.store_incoming_part("sim1", part("Hello ", concat=(9, 1, 3)), now=T0)
        result = await store.store_incoming_part("sim1", part("!", concat=(9, 3, 3)), now=T0)
    assert result.message is not None
    assert (result.message.text, result.message.parts) == ("Hello world!", 3)
    with StoreReader(path) as reader:
        shown = reader.show_inbox(result.message.id)
        assert shown is not None
        assert [p.part_no for p in shown[1]] == [1, 2, 3]


async def test_sets_are_kept_apart_by_reference_and_modem(store: Store) -> None:
    await store.store_incoming_part("sim1", part("a", concat=(1, 1, 2)), now=T0)
    await store.store_incoming_part("sim2", part("b", concat=(1, 1, 2)), now=T0)
    await store.store_incoming_part("sim1", part("c", concat=(2, 1, 2)), now=T0)
    result = await store.store_incoming_part("sim1", part("d", concat=(1, 2, 2)), now=T0)
    assert result.message is not None
    assert (result.message.text, result.message.modem) == ("ad", "sim1")


async def test_incomplete_sets_are_delivered_after_the_delay(store: Store) -> None:
    await store.store_incoming_part("sim1", part("first ", concat=(4, 1, 3)), now=T0)
    await store.store_incoming_part("sim1", part("third", concat=(4, 3, 3)), now=T0)
    assert await store.flush_incomplete(older_than=3600, now=T0 + timedelta(minutes=59)) == []
    [message] = await store.flush_incomplete(older_than=3600, now=T0 + timedelta(hours=1))
    assert (message.text, message.incomplete, message.parts) == ("first third", True, 3)
    assert message.to_json()["incomplete"] is True
    assert await store.flush_incomplete(older_than=0, now=T0 + timedelta(hours=2)) == []


async def test_inbox_listing_pages(store: Store, tmp_path: Path) -> None:
    for n in range(5):
        await store.store_incoming_part("sim1" if n % 2 else "sim2", part(f"m{n}"), now=T0)
    with StoreReader(store.path) as reader:
        newest = reader.list_inbox(limit=2)
        assert [m.text for m in newest] == ["m4", "m3"]
        older = reader.list_inbox(limit=10, before=newest[-1].seq)
        assert [m.text for m in older] == ["m2", "m1", "m0"]
        assert [m.text for m in reader.list_inbox(modem="sim1")] == ["m3", "m1"]
        assert [m.text for m in reader.list_inbox(after=0, limit=2)] == ["m0", "m1"]
