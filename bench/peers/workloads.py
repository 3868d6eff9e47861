"""The workloads, each run on fresh simulated modems and a fresh instance of the system.

Times are wall-clock (``time.time()``) so that a file's mtime, an MQTT arrival and the
simulated modem's clock compare directly. Every latency ends when ``AT+CMGS=`` reaches the
modem (outbound) or when the message is stored / published (inbound).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
import contextlib
from dataclasses import dataclass
import logging
import math
from pathlib import Path
import random
import time

from bench.peers.parsing import digits, pieces_of
from bench.peers.report import percentile
from bench.peers.sims import SimBank, reassemble
from bench.peers.system import System

LOGGER = logging.getLogger(__name__)
Metrics = dict[str, float | None]
Factory = Callable[[], System]

READY_TIMEOUT = 40.0  # the slowest start (gammu-smsd probing the modem) takes about 6 s
_POLL = 0.05
_SENDERS = 4  # messages queued at once (gammu-smsd-inject is a process per message)
_OTP = "Your code is 482913. It expires in 5 minutes."
LONG_GSM = (
    "Dear customer, your parcel 4711-0815 is on its way and will arrive tomorrow between "
    "9:00 and 12:00. If nobody is at home, it goes to the shop at Hauptstrasse 5, where you "
    "can collect it for seven days with this message and an ID card. Reply STOP to opt out."
)
LONG_UCS2 = "Ваша посылка 4711-0815 уже в пути и прибудет завтра с 9:00 до 12:00. " * 2

#: Texts sent in the text workload: GSM-7 extension characters, national-language text, emoji.
TEXTS = (
    "Total: 12€ [incl. tax] {ref: A-7} ~ ^ | \\ ok",
    "Grüße aus Köln: Öffnungszeiten ändern sich ab Montag.",
    "Şifreniz 4821. Lütfen kimseyle paylaşmayın, ığüşöç.",
    "¿Dónde está el código? Añada ¡ya! áéíóú",
    "Ο κωδικός σας είναι 4821",
    "Ваш код: 4821. Никому не сообщайте его.",
    "आपका कोड 4821 है",
    "验证码 4821，五分钟内有效。",
    "Your parcel 📦 arrives today 🚚👍",
    "Long with € at the split: " + "x" * 126 + "€€€ and more text after the boundary €.",
)


@dataclass(frozen=True, slots=True)
class Plan:
    """Sizes and time limits of one run (quick or full)."""

    latency_samples: int = 60
    throughput_messages: int = 200
    throughput_window: float = 600.0  # stop counting after this long from the first AT+CMGS
    spread_messages: int = 40
    inbound_messages: int = 20
    fault_messages: int = 20
    stall: float = 120.0  # give up after this long without progress
    #: After the replug: smsd waits 60 s for the answer to a PDU written to a vanished port.
    fault_patience: float = 180.0


QUICK = Plan(latency_samples=20, throughput_window=20.0, stall=30.0, fault_patience=80.0)
FULL = Plan()


@contextlib.asynccontextmanager
async def running(
    make: Factory, workdir: Path, modems: int, *, send_delay: float = 0.0
) -> AsyncIterator[tuple[System, SimBank]]:
    """Start modems and the system on them; wait until it has initialised them; stop both."""
    bank = SimBank(workdir, modems, send_delay=send_delay)
    await bank.start()
    system = make()
    try:
        await system.start(bank.links, workdir)
        await bank.wait_quiet(limit=READY_TIMEOUT)
        yield system, bank
    finally:
        await system.stop()
        await bank.stop()


async def wait_for(
    done: Callable[[], bool], progress: Callable[[], int], *, stall: float, limit: float
) -> bool:
    """Wait until ``done()``; give up after ``stall`` s without ``progress()`` or ``limit`` s."""
    start = last_change = time.monotonic()
    seen = progress()
    while not done():
        now = time.monotonic()
        if (count := progress()) != seen:
            seen, last_change = count, now
        if now - last_change > stall or now - start > limit:
            return False
        await asyncio.sleep(_POLL)
    return True


async def queue_all(
    system: System, items: Sequence[tuple[str, str]], *, unicode: bool = False
) -> None:
    """Queue messages a few at a time, in order."""
    semaphore = asyncio.Semaphore(_SENDERS)

    async def one(to: str, text: str) -> None:
        async with semaphore:
            await system.send(to, text, unicode=unicode)

    await asyncio.gather(*(one(to, text) for to, text in items))


# ------------------------------------------------------------------------------- idle latency


async def idle_latency(make: Factory, workdir: Path, plan: Plan, rng: random.Random) -> Metrics:
    """Queue one message into an idle system; time until its AT+CMGS reaches the modem.

    A system that polls its queue every P seconds is sampled on up to 20 instances at once,
    each queueing at a random phase of its poll cycle (uniform over P), so the samples do not
    take 20 x P. Event-driven and busy-waiting systems are sampled one message at a time.
    """
    probe = make()
    parallel = probe.poll_interval >= 1.0 and not probe.busy_waits
    instances = min(plan.latency_samples, 20) if parallel else 1
    each = math.ceil(plan.latency_samples / instances)
    pause = max(probe.poll_interval, 0.5)
    seeds = [rng.random() for _ in range(instances)]
    runs = [
        _latency_instance(make, workdir / f"idle{n}", each, pause, random.Random(seeds[n]))
        for n in range(instances)
    ]
    samples = [s for run in await asyncio.gather(*runs) for s in run]
    found = [s for s in samples if s is not None]
    return {
        "idle_latency_s_p50": percentile(found, 50),
        "idle_latency_s_p99": percentile(found, 99),
        "idle_samples": float(len(found)),
        "idle_missing": float(len(samples) - len(found)),
    }


async def _latency_instance(
    make: Factory, workdir: Path, count: int, pause: float, rng: random.Random
) -> list[float | None]:
    """Take ``count`` samples on one instance of the system.

    A message it never sends is a None, and another is tried (up to three times as many), so
    that every system gets ``count`` samples.
    """
    samples: list[float | None] = []
    async with running(make, workdir, 1) as (system, bank):
        sim = bank.sim()
        for n in range(3 * count):
            if sum(s is not None for s in samples) >= count:
                break
            await asyncio.sleep(rng.uniform(0.2, pause))  # a random phase of its poll cycle
            before, accepted = len(sim.cmgs_times), len(sim.sent)
            start = time.time()
            await system.send(f"+4917000{n:05d}", _OTP)
            patience = 3 * pause + 5  # a message that never comes costs no more
            arrived = await _grows(sim.cmgs_times, before, patience)
            samples.append(sim.cmgs_times[before] - start if arrived else None)
            if arrived:  # let it finish the send, so the next sample finds it idle again
                await _grows(sim.sent, accepted, patience)
    return samples


async def _grows(items: Sequence[object], size: int, patience: float) -> bool:
    """Wait until ``items`` holds more than ``size`` entries."""
    return await wait_for(lambda: len(items) > size, lambda: 0, stall=patience, limit=patience)


# --------------------------------------------------------------------------------- throughput


async def throughput(
    make: Factory, workdir: Path, plan: Plan, *, modems: int = 1, send_delay: float = 0.0
) -> tuple[int, float | None]:
    """Queue messages at once; return (sent, rate from the first AT+CMGS to the last accepted)."""
    count = plan.throughput_messages if send_delay == 0 else plan.spread_messages
    async with running(make, workdir, modems, send_delay=send_delay) as (system, bank):
        items = [(f"+4917100{n:05d}", f"Message {n} of the throughput run") for n in range(count)]
        feeder = asyncio.create_task(queue_all(system, items))

        def window_over() -> bool:
            firsts = [s.cmgs_times[0] for s in bank.sims if s.cmgs_times]
            return bool(firsts) and time.time() - min(firsts) > plan.throughput_window

        await wait_for(
            lambda: len(bank.sent()) >= count or window_over(),
            lambda: len(bank.sent()),
            stall=plan.stall,
            limit=plan.throughput_window + plan.stall + READY_TIMEOUT,
        )
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder
        sent = bank.sent()
        firsts = [s.cmgs_times[0] for s in bank.sims if s.cmgs_times]
        if len(sent) < 2 or not firsts:
            return len(sent), None
        return len(sent), len(sent) / (sent[-1].at.timestamp() - min(firsts))


async def zero_delay(make: Factory, workdir: Path, plan: Plan, modems: int = 1) -> Metrics:
    """200 queued messages to one modem (or four) answering at once."""
    sent, rate = await throughput(make, workdir, plan, modems=modems)
    key = "throughput_msgs_per_s" if modems == 1 else f"throughput_{modems}_modems_msgs_per_s"
    return {key: rate, f"{key}_messages": float(sent)}


async def spread(make: Factory, workdir: Path, plan: Plan) -> Metrics:
    """40 messages to 4 modems whose network takes 2 s per message: share of 2 msg/s."""
    modems, delay = 4, 2.0
    sent, rate = await throughput(make, workdir, plan, modems=modems, send_delay=delay)
    limit = modems / delay
    return {
        "utilisation_2s": None if rate is None else min(rate / limit, 1.0),
        "utilisation_2s_messages": float(sent),
    }


# ------------------------------------------------------------------------------------ inbound


def inbound_texts(count: int) -> list[str]:
    """Every fourth message is multipart (two parts, GSM-7 or UCS-2), the rest short."""
    texts = []
    for n in range(count):
        if n % 4 == 0:
            texts.append(LONG_UCS2 if n % 8 == 4 else LONG_GSM)
        else:
            texts.append(f"Inbound message {n}: meter reading 0{n}4711 kWh")
    return texts


async def inbound(make: Factory, workdir: Path, plan: Plan, rng: random.Random) -> Metrics:
    """SMS arrive at the modem at random moments; time until each is stored or published."""
    texts = inbound_texts(plan.inbound_messages)
    senders = [f"+4915200{n:05d}" for n in range(len(texts))]
    arrived_at: dict[str, float] = {}
    async with running(make, workdir, 1) as (system, bank):
        poll = system.poll_interval

        def complete(sender: str, text: str) -> bool:
            return "".join(p.text for p in pieces_of(system.inbox(), sender)) == text

        for sender, text in zip(senders, texts, strict=True):
            await asyncio.sleep(rng.uniform(0.1, 0.5))
            bank.sim().inject_sms(sender, text)
            arrived_at[sender] = time.time()
        await wait_for(
            lambda: all(complete(s, t) for s, t in zip(senders, texts, strict=True)),
            lambda: len(system.inbox()),
            stall=max(plan.stall, 2 * poll + 5),
            limit=4 * poll + plan.stall + 30,
        )
        await asyncio.sleep(0.2)  # a file being written as we looked
        stored = system.inbox()
    latencies, lost, whole = [], 0, 0
    multipart = [t for t in texts if t in (LONG_GSM, LONG_UCS2)]
    for sender, text in zip(senders, texts, strict=True):
        pieces = pieces_of(stored, sender)
        if "".join(p.text for p in pieces) != text:
            lost += 1
            continue
        latencies.append(max(p.stored_at for p in pieces) - arrived_at[sender])
        whole += text in multipart and len(pieces) == 1
    return {
        "inbound_latency_s_p50": percentile(latencies, 50),
        "inbound_missing": float(lost),
        "inbound_multipart_reassembled": whole / len(multipart) if multipart else None,
    }


# ------------------------------------------------------------------------------------- faults


async def unplug(make: Factory, workdir: Path, plan: Plan) -> Metrics:
    """Unplug the modem while message 6 of 20 is with the network; replug after 3 s.

    The simulated network answers after 0.5 s; the unplug comes 0.25 s after the sixth
    AT+CMGS, so that message was not accepted. Lost: neither sent nor still queued when we
    stop waiting (``patience`` s without progress); duplicates: accepted twice; recovery:
    from the replug to the next AT+CMGS.
    """
    count, outage = plan.fault_messages, 3.0
    texts = {digits(f"+4917200{n:05d}"): f"Fault run message {n}" for n in range(count)}
    async with running(make, workdir, 1, send_delay=0.5) as (system, bank):
        sim, modem = bank.sim(), bank.modems[0]
        await queue_all(system, [(f"+{to}", text) for to, text in texts.items()])
        reached = await wait_for(
            lambda: len(sim.cmgs_times) >= 6,
            lambda: len(sim.cmgs_times),
            stall=plan.stall,
            limit=4 * system.poll_interval + plan.stall,
        )
        if not reached:
            return {"unplug_lost": None, "unplug_duplicates": None, "unplug_recovery_s": None}
        await asyncio.sleep(0.25)
        modem.unplug()
        await asyncio.sleep(outage)
        await modem.replug()
        replugged = time.time()

        def distinct() -> int:
            return len({a.recipient for a in reassemble(sim.sent) if a.complete})

        # A peer that waits for its next poll after an error gets two poll intervals more.
        patience = max(plan.fault_patience, 2 * system.poll_interval + 15)
        await wait_for(
            lambda: distinct() >= count,
            lambda: len(sim.sent),
            stall=patience,
            limit=patience * 3,
        )
        await asyncio.sleep(1.0)  # a late duplicate
        arrived = [a for a in reassemble(sim.sent) if texts.get(digits(a.recipient)) == a.text]
        unsent = count - len({digits(a.recipient) for a in arrived})
        queued = min(system.pending(), unsent)
    recovered = sim.cmgs_after(replugged)
    unique = {digits(a.recipient) for a in arrived}
    return {
        # Never sent and no longer queued: given up (moved to a failed folder) or gone.
        "unplug_lost": float(unsent - queued),
        "unplug_duplicates": float(len(arrived) - len(unique)),
        "unplug_recovery_s": None if recovered is None else recovered - replugged,
        # Still queued when we stopped waiting: sent if it recovers, or after a restart.
        "unplug_still_queued": float(queued),
        "unplug_waited_s": patience,
    }


# --------------------------------------------------------------------------------------- text


async def text(make: Factory, workdir: Path, plan: Plan, *, unicode: bool = False) -> Metrics:
    """Send :data:`TEXTS`; the share that the modem received exactly as sent."""
    recipients = [f"+4917300{n:05d}" for n in range(len(TEXTS))]
    async with running(make, workdir, 1) as (system, bank):
        sim = bank.sim()
        await queue_all(system, list(zip(recipients, TEXTS, strict=True)), unicode=unicode)

        def arrived() -> int:
            return len({a.recipient for a in reassemble(sim.sent) if a.complete})

        await wait_for(
            lambda: arrived() >= len(TEXTS),
            lambda: len(sim.sent),
            stall=max(plan.stall, 3 * system.poll_interval),
            limit=plan.stall * 3,
        )
        received = {digits(a.recipient): a.text for a in reassemble(sim.sent)}
    intact = 0
    for recipient, sent in zip(recipients, TEXTS, strict=True):
        got = received.get(digits(recipient))
        intact += got == sent
        if got != sent:
            LOGGER.info("%s%s: sent %r, arrived %r", system.key, " -unicode" * unicode, sent, got)
    key = "text_intact_unicode_option" if unicode else "text_intact"
    return {key: intact / len(TEXTS)}


Workload = Callable[[Factory, Path], Awaitable[Metrics]]
