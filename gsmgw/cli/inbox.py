"""``gsmgw inbox [list|show ID|export]``: received SMS; export prints JSON lines, oldest first.

``list`` and ``show`` include the PDUs kept raw because they could not be decoded (SPEC.md:
malformed PDUs are kept raw): listed after the messages, as their ``errors`` event says them.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from gsmgw.cli.local import add_config_argument

if TYPE_CHECKING:
    from gsmgw.cli.output import JsonValue
    from gsmgw.models import IncomingMessage
    from gsmgw.store import Undecodable

ACTIONS = ("list", "show", "export")
EXPORT_PAGE = 500


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``gsmgw inbox``."""
    parser.add_argument("action", nargs="?", choices=ACTIONS, default="list", help="default list")
    parser.add_argument("id", nargs="?", help="message id (show)")
    parser.add_argument("--from", dest="sender", metavar="N", help="only messages from N")
    parser.add_argument("--modem", metavar="ID", help="only messages received by this modem")
    parser.add_argument("--limit", type=int, default=50, help="list at most this many (50)")
    add_config_argument(parser)


async def run(args: argparse.Namespace) -> int:
    """List, show or export inbound messages."""
    from gsmgw.cli.local import load
    from gsmgw.cli.output import error, print_json
    from gsmgw.errors import GsmgwError
    from gsmgw.store import StoreReader

    if args.action == "show" and not args.id:
        error("inbox show needs a message id")
        return 2
    try:
        config = load(args)
        with StoreReader(config.gateway.database) as reader:
            if args.action == "export":
                _export(reader, args)
                return 0
            if args.action == "show":
                return _show(reader, args.id, json_output=args.json)
            messages = reader.list_inbox(sender=args.sender, modem=args.modem, limit=args.limit)
            # Undecodable PDUs have no sender: a --from filter leaves them out.
            raw = [] if args.sender else reader.list_undecodable(modem=args.modem, limit=args.limit)
    except GsmgwError as exc:
        error(str(exc))
        return 1
    if args.json:
        print_json([message_json(m) for m in messages] + [_raw_json(r) for r in raw])
        return 0
    if not messages and not raw:
        print("no messages")
    for m in messages:
        text = m.text if m.text is not None else f"<data {len(m.data or b'')} bytes>"
        flag = " (incomplete)" if m.incomplete else ""
        received = m.received_at.isoformat(timespec="seconds")
        print(f"{m.id}  {received}  {m.sender}  via {m.modem}{flag}: {text}")
    for r in raw:
        stored = r.stored_at.isoformat(timespec="seconds")
        print(f"{r.id}  {stored}  undecodable PDU via {r.modem}: {r.error}")
    return 0


def _raw_json(entry: Undecodable) -> dict[str, JsonValue]:
    """Return a PDU kept raw as its ``errors`` event says it."""
    payload = json.loads(json.dumps(entry.to_json()))
    assert isinstance(payload, dict)
    return payload


def message_json(message: IncomingMessage) -> dict[str, JsonValue]:
    """Return one inbound message as SPEC.md publishes it, plus when it was stored."""
    payload = json.loads(json.dumps(message.to_json()))
    assert isinstance(payload, dict)
    return {**payload, "stored_at": message.stored_at.isoformat(timespec="seconds")}


def _export(reader: object, args: argparse.Namespace) -> None:
    """Print every matching message as one JSON line, oldest first, a page at a time."""
    from gsmgw.cli.output import print_json
    from gsmgw.store import StoreReader

    assert isinstance(reader, StoreReader)
    after = 0
    while True:
        page = reader.list_inbox(
            sender=args.sender, modem=args.modem, limit=EXPORT_PAGE, after=after
        )
        for message in page:
            print_json(message_json(message))
        if len(page) < EXPORT_PAGE:
            return
        after = page[-1].seq


def _show(reader: object, message_id: str, *, json_output: bool) -> int:
    from gsmgw.cli.output import error, print_fields, print_json
    from gsmgw.store import StoreReader

    assert isinstance(reader, StoreReader)
    found = reader.show_inbox(message_id)
    if found is None:
        kept = reader.show_undecodable(message_id)
        if kept is None:
            error(f"no inbound message {message_id!r}")
            return 1
        if json_output:
            print_json(_raw_json(kept))
            return 0
        print_fields([(k, v) for k, v in _raw_json(kept).items() if k != "error"])
        print(f"error: {kept.error}")
        return 0
    message, parts = found
    raw = [{"part": p.part_no, "total": p.total, "pdu": p.raw.hex().upper()} for p in parts]
    if json_output:
        print_json({**message_json(message), "raw_parts": raw})
        return 0
    print_fields(list(message_json(message).items()))
    for part in raw:
        print(f"  part {part['part'] or 1}: {part['pdu']}")
    return 0
