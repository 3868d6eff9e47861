"""``gsmgw outbox [list|show ID|retry ID|cancel ID]``: the outbound queue and its history."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gsmgw.cli.local import add_config_argument

if TYPE_CHECKING:
    from gsmgw.cli.output import JsonValue
    from gsmgw.models import OutgoingMessage

ACTIONS = ("list", "show", "retry", "cancel")
STATES = ("queued", "sending", "sent", "delivered", "failed", "expired", "cancelled", "retrying")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``gsmgw outbox``."""
    parser.add_argument("action", nargs="?", choices=ACTIONS, default="list", help="default list")
    parser.add_argument("id", nargs="?", help="message id (show, retry, cancel)")
    parser.add_argument("--state", choices=STATES, help="list only messages in this state")
    parser.add_argument("--to", metavar="N", help="list only messages to this number")
    parser.add_argument("--limit", type=int, default=50, help="list at most this many (50)")
    add_config_argument(parser)


async def run(args: argparse.Namespace) -> int:
    """List, show, retry or cancel outbound messages."""
    from gsmgw.cli.local import load, through_daemon
    from gsmgw.cli.output import error, print_json
    from gsmgw.errors import GsmgwError
    from gsmgw.models import MessageState
    from gsmgw.store import Store, StoreReader

    if args.action != "list" and not args.id:
        error(f"outbox {args.action} needs a message id")
        return 2
    try:
        config = load(args)
        if args.action in ("retry", "cancel"):

            async def direct(store: Store) -> object:
                method = store.retry if args.action == "retry" else store.cancel
                state = await method(args.id)
                return None if state is None else str(state)

            state = await through_daemon(config, f"outbox_{args.action}", {"id": args.id}, direct)
            if state is None:
                error(f"no outbound message {args.id!r}")
                return 1
            if args.json:
                print_json({"id": args.id, "state": str(state)})
            else:
                print(f"{args.id}: {state}")
            return 0
        with StoreReader(config.gateway.database) as reader:
            if args.action == "show":
                message = reader.show_outbox(args.id)
                if message is None:
                    error(f"no outbound message {args.id!r}")
                    return 1
                _show(message, json_output=args.json)
                return 0
            state_filter = MessageState(args.state) if args.state else None
            messages = reader.list_outbox(state=state_filter, to=args.to, limit=args.limit)
    except GsmgwError as exc:
        error(str(exc))
        return 1
    if args.json:
        print_json([message_json(m) for m in messages])
    else:
        _table(messages)
    return 0


def message_json(message: OutgoingMessage, *, parts: bool = False) -> dict[str, JsonValue]:
    """Return one outbound message as a JSON object."""
    from gsmgw.cli.local import iso

    result: dict[str, JsonValue] = {
        "id": message.id,
        "to": message.to,
        "state": str(message.state),
        "priority": message.priority,
        "modem": message.modem,
        "attempts": message.attempts,
        "created_at": iso(message.created_at),
        "send_at": iso(message.send_at),
        "expires_at": iso(message.expires_at),
        "next_attempt_at": iso(message.next_attempt_at),
        "route": list(message.route),
        "error": message.error,
        "earlier_outcome_unknown": message.earlier_outcome_unknown,
        "text": message.text,
    }
    if parts:
        result["parts"] = [
            {
                "part": part.part_no,
                "state": str(part.state),
                "modem": part.modem,
                "reference": part.reference,
                "attempts": part.attempts,
                "outcome_unknown": part.outcome_unknown,
                "sent_at": iso(part.sent_at),
                "status": part.status,
                "pdu": part.pdu_hex,
            }
            for part in message.parts
        ]
    return result


def _show(message: OutgoingMessage, *, json_output: bool) -> None:
    from gsmgw.cli.output import print_fields, print_json

    data = message_json(message, parts=True)
    if json_output:
        print_json(data)
        return
    print_fields([(key, value) for key, value in data.items() if key != "parts"])
    for part in message.parts:
        reference = "-" if part.reference is None else part.reference
        print(
            f"  part {part.part_no}: {part.state} modem={part.modem or '-'} "
            f"reference={reference} attempts={part.attempts}"
        )


def _table(messages: list[OutgoingMessage]) -> None:
    if not messages:
        print("no messages")
        return
    print(f"{'ID':<34} {'TO':<16} {'STATE':<10} {'PRIO':>5} {'MODEM':<8} CREATED")
    for m in messages:
        created = m.created_at.isoformat(timespec="seconds")
        print(
            f"{m.id[:34]:<34} {m.to[:16]:<16} {m.state:<10} {m.priority:>5} "
            f"{(m.modem or '-')[:8]:<8} {created}"
        )
