"""``gsmgw pdu encode`` and ``gsmgw pdu decode``: the SMS codec as a command line tool."""

from __future__ import annotations

import argparse
from datetime import datetime

from gsmgw.cli.output import JsonValue, error, print_fields, print_json

EXIT_OK = 0
EXIT_FAILURE = 1


def _language(value: str) -> str:
    from gsmgw.errors import EncodingError
    from gsmgw.sms.alphabet import language_id

    try:
        language_id(value)
    except EncodingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _seconds(value: str) -> int:
    try:
        seconds = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if seconds < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return seconds


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``encode`` and ``decode`` with their options."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    encode = sub.add_parser("encode", help="encode a text as SMS-SUBMIT PDUs for AT+CMGS")
    encode.add_argument("--to", required=True, metavar="NUMBER", help="+4917... or national")
    encode.add_argument("--text", required=True, help="the message text")
    encode.add_argument(
        "--encoding", choices=["auto", "smart", "ucs2"], default="auto",
        help="auto: GSM-7 or UCS-2; smart: map look-alikes to stay GSM-7; ucs2: always UCS-2",
    )  # fmt: skip
    encode.add_argument("--report", action="store_true", help="request a delivery report")
    encode.add_argument("--flash", action="store_true", help="class 0: shown, not stored")
    encode.add_argument("--valid-for", type=_seconds, metavar="SECONDS", help="validity period")
    encode.add_argument("--ref16", action="store_true", help="16-bit concatenation reference")
    encode.add_argument("--ref", type=int, default=0, help="concatenation reference")
    encode.add_argument("--smsc", metavar="NUMBER", help="service centre (default: the SIM's)")
    encode.add_argument(
        "--language", action="extend", nargs="+", type=_language, default=[], metavar="LANG",
        help="national shift tables allowed: tr es pt bn gu hi kn ml or pa ta te ur",
    )  # fmt: skip
    encode.add_argument("--max-parts", type=int, default=255, help="refuse longer texts")
    encode.add_argument("--json", action="store_true", help="print one JSON object")
    decode = sub.add_parser("decode", help="decode PDUs as +CMGR, +CMGL, +CMT or +CDS show them")
    decode.add_argument("pdus", nargs="+", metavar="HEX", help="one PDU in hex per argument")
    decode.add_argument("--no-smsc", action="store_true", help="the PDUs lack the SMSC field")
    decode.add_argument("--json", action="store_true", help="print a JSON list")


async def run(args: argparse.Namespace) -> int:
    """Encode or decode, print the result; 1 on a bad number, text or PDU."""
    if args.action == "encode":
        return _encode(args)
    return _decode(args)


def _encode(args: argparse.Namespace) -> int:
    from gsmgw.errors import EncodingError
    from gsmgw.sms import EncodingMode, encode_submit

    try:
        message = encode_submit(
            args.to,
            args.text,
            mode=EncodingMode(args.encoding),
            languages=args.language,
            report=args.report,
            flash=args.flash,
            valid_for=args.valid_for,
            smsc=args.smsc,
            concat_ref=args.ref,
            ref16=args.ref16,
            max_parts=args.max_parts,
        )
    except EncodingError as exc:
        error(f"{exc.code}: {exc}")
        return EXIT_FAILURE
    parts: list[JsonValue] = [{"pdu": p.hex, "length": p.tpdu_length} for p in message.parts]
    if args.json:
        print_json(
            {"encoding": str(message.encoding), "language": message.language, "parts": parts}
        )
        return EXIT_OK
    print_fields(
        [("encoding", message.encoding), ("language", message.language), ("parts", len(parts))]
    )
    for part in message.parts:
        print(f"AT+CMGS={part.tpdu_length}")
        print(part.hex)
    return EXIT_OK


def _decode(args: argparse.Namespace) -> int:
    from gsmgw.errors import PduError
    from gsmgw.sms import decode_pdu_hex

    decoded: list[dict[str, JsonValue]] = []
    for number, text in enumerate(args.pdus, start=1):
        try:
            decoded.append(describe(decode_pdu_hex(text, has_smsc=not args.no_smsc)))
        except PduError as exc:
            error(f"PDU {number}: {exc}")
            return EXIT_FAILURE
    if args.json:
        print_json(list[JsonValue](decoded))
        return EXIT_OK
    for index, fields in enumerate(decoded):
        if index:
            print()
        print_fields([(name, _shown(value)) for name, value in fields.items()])
    return EXIT_OK


def _shown(value: JsonValue) -> object:
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items())
    return value


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def describe(message: object) -> dict[str, JsonValue]:
    """Return the JSON view of a decoded PDU (``gsmgw pdu decode --json``)."""
    from gsmgw.sms import Deliver, StatusReport, Submit

    if isinstance(message, StatusReport):
        state = "delivered" if message.delivered else "pending" if message.pending else "failed"
        return {
            "type": message.TYPE, "smsc": message.smsc, "to": message.recipient,
            "reference": message.reference, "status": message.status, "state": state,
            "timestamp": _time(message.timestamp),
            "discharge_time": _time(message.discharge_time),
            "encoding": None, "text": None, "concat": None, "class": None,
        }  # fmt: skip
    assert isinstance(message, Deliver | Submit)
    view: dict[str, JsonValue] = {"type": message.TYPE, "smsc": message.smsc}
    if isinstance(message, Deliver):
        view |= {"from": message.sender, "timestamp": _time(message.timestamp)}
    else:
        view |= {"to": message.recipient, "timestamp": None, "reference": message.message_reference,
                 "validity": message.validity, "report": message.status_report_request}  # fmt: skip
    if message.text is not None:
        view["text"] = message.text
    else:
        view["data_hex"] = (message.data or b"").hex().upper()
    concat = message.concat
    ports = message.ports
    view |= {
        "encoding": str(message.encoding),
        "concat": (
            {"ref": concat.ref, "part": concat.part, "total": concat.total} if concat else None
        ),
        "class": message.message_class,
        "ports": {"destination": ports.destination, "source": ports.source} if ports else None,
        "dcs": message.dcs, "pid": message.pid,
    }  # fmt: skip
    return view
