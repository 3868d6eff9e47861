"""``gsmgw optout [list|add N|remove N]``: numbers that get no ``marketing`` messages."""

from __future__ import annotations

import argparse

from gsmgw.cli.local import add_config_argument

ACTIONS = ("list", "add", "remove")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``gsmgw optout``."""
    parser.add_argument("action", nargs="?", choices=ACTIONS, default="list", help="default list")
    parser.add_argument("number", nargs="?", help="phone number (add, remove)")
    parser.add_argument("--limit", type=int, default=1000, help="list at most this many (1000)")
    add_config_argument(parser)


async def run(args: argparse.Namespace) -> int:
    """List, add or remove opt-out numbers."""
    from gsmgw.cli.local import iso, load, through_daemon
    from gsmgw.cli.output import error, print_json
    from gsmgw.errors import GsmgwError, RequestError
    from gsmgw.store import Store, StoreReader
    from gsmgw.validate import normalise_number

    if args.action != "list" and not args.number:
        error(f"optout {args.action} needs a number")
        return 2
    try:
        config = load(args)
        if args.action == "list":
            with StoreReader(config.gateway.database) as reader:
                entries = reader.opt_out_list(args.limit)
            if args.json:
                print_json(
                    [
                        {"number": e.number, "added_at": iso(e.added_at), "source": e.source}
                        for e in entries
                    ]
                )
            else:
                for e in entries:
                    print(f"{e.number:<18} {iso(e.added_at)}  {e.source}")
            return 0
        number = normalise_number(args.number, config.gateway.default_region)
        adding = args.action == "add"

        async def direct(store: Store) -> bool:
            if adding:
                return await store.opt_out_add(number, source="cli")
            return await store.opt_out_remove(number)

        changed = await through_daemon(config, f"optout_{args.action}", {"number": number}, direct)
    except RequestError as exc:
        error(exc.message)
        return 2
    except GsmgwError as exc:
        error(str(exc))
        return 1
    if args.json:
        print_json({"number": number, "action": args.action, "changed": bool(changed)})
    elif adding:
        print(f"{number}: {'added' if changed else 'already on the list'}")
    else:
        print(f"{number}: {'removed' if changed else 'was not on the list'}")
    return 0
