"""The ``gsmgw demo`` tour: each step talks MQTT like a user and waits for what it should see.

The steps know only the broker and the simulated modems (to inject an inbound SMS and to look at
what reached the network); ``gsmgw.demo`` starts the broker, the daemon and the modems.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
import json
import time
from typing import Any

import aiomqtt

from gsmgw.errors import GsmgwError
from gsmgw.sim import PtyModem

PREFIX = "gsmgw"
NODE = "demo"
MODEM_IDS = ("sim1", "sim2")
#: Where the tour asks for replies (MQTT 3.1.1 style ``reply_to``), under the live view's ``#``.
REPLY_TOPIC = f"{PREFIX}/demo-client/replies"
DESTINATION = "+491701234567"
INBOUND_SENDER = "+491705555555"
#: Seconds per step of the tour.
STEP_TIMEOUT = 15.0

Say = Callable[[str], None]


class StepFailed(GsmgwError):
    """One step of the tour did not happen in time."""

    def __init__(self, step: str, problem: str) -> None:
        super().__init__(f"step {step!r} failed: {problem}")
        self.step = step
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Event:
    """One MQTT message seen by the live view."""

    topic: str
    payload: Any


@dataclass
class Recorder:
    """Everything published under ``{prefix}/#``, with a way to wait for one of them."""

    say: Say
    events: list[Event] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def add(self, topic: str, raw: bytes) -> None:
        """Record and print one message compactly."""
        try:
            payload: Any = json.loads(raw)
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        self.events.append(Event(topic, payload))
        self.say(f"  {time.strftime('%H:%M:%S')}  {topic:<28} {_compact(payload)}")
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, step: str, check: Callable[[Event], bool], what: str) -> Event:
        """Return the first event ``check`` accepts, or raise `StepFailed` after STEP_TIMEOUT."""
        try:
            async with asyncio.timeout(STEP_TIMEOUT), self._changed:
                while True:
                    found = next((e for e in self.events if check(e)), None)
                    if found is not None:
                        return found
                    await self._changed.wait()
        except TimeoutError:
            raise StepFailed(step, f"no {what} within {STEP_TIMEOUT:g} s") from None


def _compact(payload: Any) -> str:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= 110 else text[:107] + "..."


STATE_TOPIC = f"{PREFIX}/{NODE}/sms/state"
LONG_TEXT = (
    "This is a long message: more than 160 GSM-7 characters do not fit in one SMS, so the "
    "gateway splits it into parts with a user data header (3GPP TS 23.040 9.2.3.24.1) and the "
    "phone joins them again. " * 2
).strip()
EMOJI_TEXT = "Emoji need UCS-2 (3GPP TS 23.038): \U0001f44b \U0001f4e8 \u2705"
Step = Callable[[aiomqtt.Client, Recorder, dict[str, PtyModem]], Any]


def _state(message_id: str, state: str) -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        p = event.payload
        return (
            event.topic == STATE_TOPIC
            and isinstance(p, dict)
            and p.get("id") == message_id
            and p.get("state") == state
        )

    return check


def _reply(message_id: str | None, *, error: bool) -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        p = event.payload
        if event.topic != REPLY_TOPIC or not isinstance(p, dict) or ("error" in p) != error:
            return False
        return message_id is None or p.get("id") == message_id

    return check


async def _request(client: aiomqtt.Client, fields: dict[str, Any]) -> None:
    await client.publish(f"{PREFIX}/send", json.dumps({**fields, "reply_to": REPLY_TOPIC}), qos=1)


async def _sent(recorder: Recorder, step: str, message_id: str) -> Event:
    await recorder.wait_for(step, _reply(message_id, error=False), "reply 'queued'")
    for state in ("queued", "sending"):
        await recorder.wait_for(step, _state(message_id, state), f"state {state!r}")
    return await recorder.wait_for(step, _state(message_id, "sent"), "state 'sent'")


async def _step_send(client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]) -> None:
    fields = {
        "to": DESTINATION,
        "text": "Hello from the gsmgw demo",
        "id": "demo-1",
        "report": True,
    }
    await _request(client, fields)
    await _sent(recorder, "send", "demo-1")


async def _step_report(
    client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]
) -> None:
    await recorder.wait_for("delivery report", _state("demo-1", "delivered"), "state 'delivered'")


async def _step_long(client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]) -> None:
    await _request(client, {"to": DESTINATION, "text": LONG_TEXT, "id": "demo-long"})
    sent = await _sent(recorder, "long multipart message", "demo-long")
    if not sent.payload.get("parts", 0) > 1:
        raise StepFailed("long multipart message", f"expected several parts: {sent.payload}")


async def _step_emoji(
    client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]
) -> None:
    await _request(client, {"to": DESTINATION, "text": EMOJI_TEXT, "id": "demo-emoji"})
    await _sent(recorder, "emoji message", "demo-emoji")
    texts = [m.submit.text for sim in sims.values() for m in sim.sim.sent]
    if EMOJI_TEXT not in texts:
        raise StepFailed("emoji message", "the simulated network did not get the emoji text intact")


async def _step_inbound(
    client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]
) -> None:
    text = "Hi gateway, this SMS came from a phone \U0001f4f1"
    sims[MODEM_IDS[1]].sim.inject_sms(INBOUND_SENDER, text)

    def arrived(event: Event) -> bool:
        p = event.payload
        return (
            event.topic == f"{PREFIX}/{NODE}/inbox"
            and isinstance(p, dict)
            and p.get("text") == text
        )

    await recorder.wait_for("inbound SMS", arrived, f"message on {PREFIX}/{NODE}/inbox")


async def _step_modem(
    client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]
) -> None:
    def ready(event: Event) -> bool:
        p = event.payload
        return (
            event.topic.startswith(f"{PREFIX}/{NODE}/modem/")
            and isinstance(p, dict)
            and p.get("state") == "ready"
        )

    await recorder.wait_for("modem status", ready, f"retained {PREFIX}/{NODE}/modem/+ status")


async def _step_rejected(
    client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem]
) -> None:
    await _request(client, {"to": "call me maybe", "text": "no such number", "id": "demo-bad"})
    await recorder.wait_for("rejected request", _reply("demo-bad", error=True), "error reply")


TOUR: tuple[tuple[str, str, Step], ...] = (
    ("send", "a send request over MQTT: queued -> sending -> sent", _step_send),
    ("delivery report", "the network's status report marks it delivered", _step_report),
    ("long multipart message", "a long text goes as several parts", _step_long),
    ("emoji message", "emoji switch the message to UCS-2", _step_emoji),
    ("inbound SMS", f"an SMS from a phone arrives on {PREFIX}/{NODE}/inbox", _step_inbound),
    ("modem status", f"modem health, retained on {PREFIX}/{NODE}/modem/ID", _step_modem),
    ("rejected request", "a bad number gets an error reply", _step_rejected),
)


async def run_tour(
    client: aiomqtt.Client, recorder: Recorder, sims: dict[str, PtyModem], say: Say
) -> str | None:
    """Run every step of the tour; return the name of the one that failed, or None."""
    for name, description, step in TOUR:
        say(f"-- {name}: {description}")
        try:
            await step(client, recorder, sims)
        except StepFailed as exc:
            say(str(exc))
            return name
        say(f"   ok: {name}")
    return None
