"""Throughput of the SMS codec: encode and decode, in parts per second.

Run: ``./dev bench codec`` (a table) or ``--json`` (one JSON object).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import json
import time

from gsmgw.sms import EncodingMode, decode_pdu, encode_submit

CASES: dict[str, tuple[str, dict[str, object]]] = {
    "gsm7 1 part": ("Your code is 123456. It expires in 5 minutes.", {}),
    "gsm7 5 parts": ("Lorem ipsum dolor sit amet [x] {y} € " * 16, {}),
    "ucs2 3 parts": ("Привет, мир! 😀 日本語 " * 10, {}),
    "smart 1 part": (
        "It\u2019s \u201cdone\u201d \u2013 see you\u2026 " * 5,
        {"mode": EncodingMode.SMART},
    ),
    "turkish 2 parts": ("Görüşürüz, teşekkürler ığş " * 10, {"languages": ["tr"]}),
}
MIN_SECONDS = 0.5


def _rate(work: Callable[[], int]) -> float:
    """Run work (which returns how many parts it handled) for MIN_SECONDS; parts per second."""
    parts = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < MIN_SECONDS:
        parts += work()
    return parts / elapsed


def measure() -> dict[str, dict[str, int]]:
    """Return {case: {"parts": n, "encode_parts_per_s": x, "decode_parts_per_s": y}}."""
    results = {}
    for name, (text, options) in CASES.items():
        message = encode_submit("+491701234567", text, **options)  # type: ignore[arg-type]
        pdus = [part.pdu for part in message.parts]

        def encode(text: str = text, options: dict[str, object] = options) -> int:
            return len(encode_submit("+491701234567", text, **options).parts)  # type: ignore[arg-type]

        def decode(pdus: list[bytes] = pdus) -> int:
            for pdu in pdus:
                decode_pdu(pdu)
            return len(pdus)

        results[name] = {
            "parts": len(pdus),
            "encode_parts_per_s": round(_rate(encode)),
            "decode_parts_per_s": round(_rate(decode)),
        }
    return results


def main() -> None:
    """Print the figures as a table, or as JSON with --json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    results = measure()
    if parser.parse_args().json:
        print(json.dumps({"codec": results}))
        return
    print(f"{'case':<18} {'parts':>5} {'encode parts/s':>15} {'decode parts/s':>15}")
    for name, row in results.items():
        print(
            f"{name:<18} {row['parts']:>5.0f} {row['encode_parts_per_s']:>15,.0f} "
            f"{row['decode_parts_per_s']:>15,.0f}"
        )


if __name__ == "__main__":
    main()
