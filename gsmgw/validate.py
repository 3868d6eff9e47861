"""The fields of SPEC.md's send request, checked one by one; every refusal is a ``RequestError``."""

from __future__ import annotations

from datetime import UTC, datetime
import re

from gsmgw.errors import RequestError

#: The request keys of SPEC.md's send request.
REQUEST_KEYS = frozenset(
    {"to", "text", "id", "priority", "valid_for", "send_at", "report", "flash", "modem"}
    | {"encoding", "marketing", "reply_to"}
)
#: The values of ``gsmgw.sms.EncodingMode`` (kept as strings so this module stays codec-free).
ENCODING_MODES = ("auto", "smart", "ucs2")
#: 255 parts of 153 GSM-7 characters: nothing longer can ever be sent (TS 23.040 §9.2.3.24.1).
MAX_TEXT_LENGTH = 255 * 153
MAX_RECIPIENTS = 10_000
MAX_ID_LENGTH = 128
#: The longest relative validity period TS 23.040 §9.2.3.12.1 can express: 63 weeks.
MAX_VALID_FOR = 63 * 7 * 86_400
#: TP-DA holds at most 20 digits (TS 23.040 §9.1.2.5).
MAX_NUMBER_DIGITS = 20
#: Numbers this short are short codes and pass as typed.
SHORT_CODE_DIGITS = 6
PRIORITY_RANGE = range(-1_000_000, 1_000_001)

#: A USSD string: digits, *, # and + (3GPP TS 22.090 §5), at most 182 characters (TS 24.080).
USSD_CODE = re.compile(r"[0-9*#+]{1,182}")

_NUMBER_PUNCTUATION = re.compile(r"[\s\-./()]")
_NUMBER = re.compile(r"\+?\d{1,20}")
_ID_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


def normalise_number(number: str, default_region: str = "") -> str:
    """Return ``number`` in E.164 when it can be, else as typed; raise ``invalid_number``.

    Short codes (up to six digits) and national numbers that do not parse for ``default_region``
    pass as typed (digits only); a "+" number must be a possible international number.
    """
    cleaned = _NUMBER_PUNCTUATION.sub("", number)
    if not _NUMBER.fullmatch(cleaned):
        raise RequestError("invalid_number", f"not a phone number: {number!r}")
    if not cleaned.startswith("+") and len(cleaned) <= SHORT_CODE_DIGITS:
        return cleaned
    import phonenumbers  # a large module: keep `gsmgw --version` fast

    region = default_region or None
    try:
        parsed = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_possible_number(parsed):
        return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    if cleaned.startswith("+"):
        raise RequestError("invalid_number", f"not a possible international number: {number!r}")
    return cleaned


def warm_up(default_region: str = "") -> None:
    """Load the phone-number library and a region's metadata before the first request needs them.

    The daemon calls this as it starts: otherwise its first request after a start waits for them
    (17 ms on a 2-core x86 VM: the import, the metadata, the first compiled patterns).
    """
    import phonenumbers

    # A region without an example (a code no country has) warms the parser on another one.
    example = phonenumbers.example_number(default_region) or phonenumbers.example_number("US")
    if example is not None:
        international = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        normalise_number(str(international), default_region)


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    return names.get(type(value), "a list" if isinstance(value, list) else "an object")


def _wrong_type(key: str, expected: str, value: object) -> RequestError:
    return RequestError("invalid_request", f"{key!r} must be {expected}, not {_type_name(value)}")


def string_field(obj: dict[str, object], key: str) -> str | None:
    """Return an optional non-empty string field."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _wrong_type(key, "a non-empty string", value)
    return value


def flag_field(obj: dict[str, object], key: str) -> bool:
    """Return an optional boolean field (default false)."""
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise _wrong_type(key, "true or false", value)
    return value


def to_field(value: object, default_region: str) -> tuple[tuple[str, ...], bool]:
    """Return the normalised recipients and whether ``to`` was a list."""
    if isinstance(value, str):
        return (normalise_number(value, default_region),), False
    if not isinstance(value, list):
        raise _wrong_type("to", "a number or a list of numbers", value)
    if not value:
        raise RequestError("invalid_request", "'to' is an empty list")
    if len(value) > MAX_RECIPIENTS:
        raise RequestError("invalid_request", f"'to' lists more than {MAX_RECIPIENTS} numbers")
    numbers = []
    for index, number in enumerate(value):
        if not isinstance(number, str):
            raise _wrong_type(f"to[{index}]", "a string", number)
        numbers.append(normalise_number(number, default_region))
    return tuple(numbers), True


def text_field(value: object) -> str:
    """Return the text, refusing what no SMS could carry."""
    if not isinstance(value, str):
        raise _wrong_type("text", "a string", value)
    if len(value) > MAX_TEXT_LENGTH:
        raise RequestError("text_too_long", f"'text' is longer than {MAX_TEXT_LENGTH} characters")
    return value


def id_field(value: object) -> str | None:
    """Return the optional idempotency key."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _wrong_type("id", "a non-empty string", value)
    if len(value) > MAX_ID_LENGTH or _ID_FORBIDDEN.search(value):
        raise RequestError(
            "invalid_request", f"'id' must be 1-{MAX_ID_LENGTH} printable characters"
        )
    return value


def priority_field(value: object) -> int | None:
    """Return the optional priority (higher goes first)."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _wrong_type("priority", "an integer", value)
    if value not in PRIORITY_RANGE:
        raise RequestError("invalid_request", "'priority' must be within ±1000000")
    return value


def valid_for_field(value: object) -> int | None:
    """Return the optional validity in seconds."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _wrong_type("valid_for", "an integer (seconds)", value)
    if not 0 < value <= MAX_VALID_FOR:
        raise RequestError("invalid_request", f"'valid_for' must be 1 to {MAX_VALID_FOR} seconds")
    return value


def send_at_field(value: object) -> datetime | None:
    """Return the optional "not before" time, in UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _wrong_type("send_at", "an ISO 8601 string", value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RequestError("invalid_request", f"'send_at' is not ISO 8601: {value!r}") from None
    if moment.tzinfo is None:
        raise RequestError("invalid_request", "'send_at' needs a time zone (Z or +01:00)")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise RequestError("invalid_request", f"'send_at' is out of range: {value!r}") from None


def reply_to_field(value: object) -> str | None:
    """Return the optional reply topic (MQTT 3.1.1 clients)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _wrong_type("reply_to", "a non-empty string", value)
    if "+" in value or "#" in value:
        raise RequestError("invalid_request", "'reply_to' must be a topic without wildcards")
    return value


def ussd_code(value: object) -> str:
    """Return ``value`` if it is a USSD string such as ``*100#``; else ``invalid_request``."""
    if not isinstance(value, str) or not USSD_CODE.fullmatch(value):
        raise RequestError("invalid_request", "'code' must be a USSD string like '*100#'")
    return value
