"""SMPP speed of ``gsmgw run`` on simulated modems (issue 17's figures).

    ./dev bench smpp            # the table
    ./dev bench smpp --json     # one JSON object
    ./dev bench smpp --quick    # fewer samples and messages

The daemon runs as a subprocess with ``[smpp]`` on 4 zero-delay simulated modems living in this
process (bench/gsmgw_node.py); the ESME is a bare asyncio client on gsmgw's own codec. Figures:

- latency: ``submit_sm`` -> ``submit_sm_resp``, one at a time (each answer comes after its commit,
  an fsync), each sent as soon as the last answer came, after ``WARM_UP`` submits: median and
  99th percentile, twice.

  - ``*_network_pace``: the modems answer each ``AT+CMGS`` after ``NETWORK_SEND_DELAY``, as a
    real network does (2-4 s), so they keep sending, four messages at a time, while the
    submits queue up: the latency an ESME sees on a gateway.
  - ``submit_resp_ms_*`` (first): zero-delay modems send every message as soon as it is queued,
    a stress no real modem makes. The daemon is then busy all along: a submit's answer also
    waits for the Python work of the previous message's whole send, and the median comes close
    to the daemon's CPU time per message (``daemon_cpu_ms_per_submit``).

  Beside them, what the machine allows: ``cpu_steal_pct`` (CPU time the hypervisor gave other
  guests during the latency runs) and the floor under any answer, ``floor_rtt_ms_*`` (a TCP round
  trip between two processes that do nothing else, after a pause as long as an answer takes) and
  ``fsync_ms_*`` (a 4 KiB append and its fsync).
- submits/s with a window of 10 (10 requests always in flight), durable, until the last
  ``submit_sm_resp``; and end to end, until the simulated network accepted every message.
- through Kannel (when Debian's kannel is installed): HTTP sendsms on smsbox -> bearerbox ->
  gsmgw over SMPP -> the modems, messages/s until the network accepted every one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlencode

from gsmgw.smpp import (
    NEED_DATA,
    Bind,
    BindKind,
    Pdu,
    SmppConnection,
    SubmitSm,
    SubmitSmResp,
    encode,
)

if not __package__:  # run as a script (python bench/NAME.py): make bench.* importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.figures import cpu_seconds, p99, run
from bench.floor import fsync_times
from bench.gsmgw_node import Node

START_TIMEOUT = 60.0
DRAIN_TIMEOUT = 300.0
WINDOW = 10
#: Submits before the latency is measured: the daemon's start-up work (its modems' setup and
#: first sweeps, the first claims and pages read) is behind it, as on a gateway that runs.
WARM_UP = 200
#: Seconds from a part's Ctrl-Z to its ``+CMGS`` in the network-pace latency run: the fast end
#: of what a real network takes (gsmgw/sim/profiles.py ``Knobs.send_delay``).
NETWORK_SEND_DELAY = 2.0
#: Answers timed per latency run: the 99th percentile of 2,000 rests on its 20 slowest, not on
#: the 5 slowest of 500, which moved it by a millisecond from run to run.
LATENCY_SAMPLES = 2000
MODEMS = 4
USERS = "bench:bench1:mo\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmppNode(Node):
    """A daemon on ``count`` zero-delay modems with the SMPP server on ``port``."""

    def __init__(self, folder: Path, count: int, port: int) -> None:
        users = folder / "smpp.users"
        users.write_text(USERS, encoding="utf-8")
        users.chmod(0o600)
        sections = (
            "[gateway]\nnode = 'b'\ndatabase = 'gsmgw.db'\ncontrol = 'c.sock'\n"
            "[mqtt]\nurl = ''\n"
            f"[smpp]\nlisten = '127.0.0.1:{port}'\nusers_file = '{users}'\n"
        )
        super().__init__(folder, count, sections)
        self.port = port


class Esme:
    """A bound transmitter: submit_sm out, submit_sm_resp in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.codec = SmppConnection()
        self.sequence = 0

    @classmethod
    async def bind(cls, port: int) -> Esme:
        async with asyncio.timeout(START_TIMEOUT):
            while True:
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    break
                except OSError:
                    await asyncio.sleep(0.1)
        esme = cls(reader, writer)
        kind = BindKind.TRANSMITTER
        esme.send(Bind(kind=kind, sequence=esme.next(), system_id="bench", password="bench1"))
        response = await esme.recv()
        assert response.status == 0, response
        return esme

    def next(self) -> int:
        self.sequence += 1
        return self.sequence

    def send(self, pdu: Pdu) -> None:
        self.writer.write(encode(pdu))

    def submit(self, n: int) -> None:
        self.send(
            SubmitSm(
                sequence=self.next(),
                dest_addr_ton=1,
                destination_addr=f"4917{n:08d}",
                short_message=f"bench {n}".encode(),
            )
        )

    async def recv(self) -> Pdu:
        while True:
            pdu = self.codec.next_pdu()
            if pdu is not NEED_DATA:
                return pdu
            data = await self.reader.read(65536)
            if not data:
                raise EOFError("gsmgw closed the session")
            self.codec.receive_data(data)

    async def close(self) -> None:
        self.writer.close()


async def until(check: Callable[[], bool], limit: float) -> None:
    """Poll counters kept in this process until ``check()``."""
    async with asyncio.timeout(limit):
        while not check():  # noqa: ASYNC110 - counters of the simulator
            await asyncio.sleep(0.0005)


async def latency(esme: Esme, samples: int) -> list[float]:
    times = []
    for n in range(samples):
        begun = time.perf_counter()
        esme.submit(n)
        response = await esme.recv()
        times.append((time.perf_counter() - begun) * 1000)
        assert isinstance(response, SubmitSmResp), response
        assert response.status == 0, response
    return times


async def latency_and_cpu(esme: Esme, pid: int, samples: int) -> tuple[list[float], float]:
    """Return ``latency``'s times and the daemon's CPU milliseconds per submit meanwhile."""
    cpu = cpu_seconds(pid)
    times = await latency(esme, samples)
    return times, (cpu_seconds(pid) - cpu) * 1000 / samples


def cpu_times() -> tuple[int, int]:
    """Return (steal, total) jiffies of all CPUs (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return values[7], sum(values)


ECHO = """
import socket, sys
server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
conn, _ = server.accept()
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while data := conn.recv(4096):
    conn.sendall(data)
"""


def round_trips(samples: int, pause: float) -> list[float]:
    """Milliseconds of TCP round trips to an echo process, each after ``pause`` seconds."""
    child = subprocess.Popen([sys.executable, "-c", ECHO], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            times = []
            for _ in range(samples):
                time.sleep(pause)
                begun = time.perf_counter()
                sock.sendall(b"x" * 64)  # about a submit_sm
                got = 0
                while got < 64:
                    got += len(sock.recv(4096))
                times.append((time.perf_counter() - begun) * 1000)
        return times
    finally:
        child.kill()
        child.wait()


async def windowed(esme: Esme, node: Node, messages: int) -> tuple[float, float]:
    """Return (submits/s until the last answer, messages/s until the network took all)."""
    before = node.accepted()
    begun = time.perf_counter()
    sent = answered = 0
    while sent < min(WINDOW, messages):
        esme.submit(100_000 + sent)
        sent += 1
    while answered < messages:
        response = await esme.recv()
        assert isinstance(response, SubmitSmResp), response
        assert response.status == 0, response
        answered += 1
        if sent < messages:
            esme.submit(100_000 + sent)
            sent += 1
    answered_at = time.perf_counter()
    await until(lambda: node.accepted() - before >= messages, DRAIN_TIMEOUT)
    done_at = time.perf_counter()
    return messages / (answered_at - begun), messages / (done_at - begun)


async def through_kannel(folder: Path, node: SmppNode, messages: int) -> float | None:
    """Return messages/s from HTTP sendsms on smsbox to the network, or None without kannel."""
    bearerbox, smsbox = shutil.which("bearerbox"), shutil.which("smsbox")
    if bearerbox is None or smsbox is None:
        return None
    import aiohttp

    admin, boxes, sendsms = free_port(), free_port(), free_port()
    config = folder / "kannel.conf"
    config.write_text(
        f"group = core\nadmin-port = {admin}\nadmin-password = a\nsmsbox-port = {boxes}\n"
        f'box-allow-ip = 127.0.0.1\nlog-file = "{folder}/bearerbox.log"\nlog-level = 2\n'
        f"dlr-storage = internal\n\n"
        f"group = smsc\nsmsc = smpp\nsmsc-id = gsmgw\nhost = 127.0.0.1\nport = {node.port}\n"
        "transceiver-mode = true\nsmsc-username = bench\nsmsc-password = bench1\n"
        f'system-type = ""\nmax-pending-submits = {WINDOW}\n\n'
        f"group = smsbox\nbearerbox-host = 127.0.0.1\nbearerbox-port = {boxes}\n"
        f'sendsms-port = {sendsms}\nlog-file = "{folder}/smsbox.log"\nlog-level = 2\n\n'
        "group = sendsms-user\nusername = u\npassword = p\nmax-messages = 1\n",
        encoding="utf-8",
    )
    processes = [await _quietly(bearerbox, config)]
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", boxes)
                    writer.close()
                    break
                except OSError:
                    await asyncio.sleep(0.05)
        processes.append(await _quietly(smsbox, config))
        before = node.accepted()
        connector = aiohttp.TCPConnector(limit=WINDOW)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(n: int) -> None:
                query = urlencode(
                    {
                        "username": "u",
                        "password": "p",
                        "to": f"+4916{n:08d}",
                        "text": f"k{n}",
                        "from": "bench",
                    }
                )
                url = f"http://127.0.0.1:{sendsms}/cgi-bin/sendsms?{query}"
                async with asyncio.timeout(START_TIMEOUT):
                    while True:
                        try:
                            async with session.get(url) as response:
                                assert response.status == 202, await response.text()
                                return
                        except aiohttp.ClientConnectionError:
                            await asyncio.sleep(0.05)

            await one(0)  # smsbox is up and Kannel is bound
            await until(lambda: node.accepted() - before >= 1, START_TIMEOUT)
            begun = time.perf_counter()
            await asyncio.gather(*(one(n) for n in range(1, messages + 1)))
            await until(lambda: node.accepted() - before >= messages + 1, DRAIN_TIMEOUT)
            return messages / (time.perf_counter() - begun)
    finally:
        for process in reversed(processes):
            if process.returncode is None:
                process.terminate()
            await process.wait()


async def _quietly(program: str, config: Path) -> asyncio.subprocess.Process:
    """Start a Kannel box; its log files say everything, stderr only the fatal."""
    return await asyncio.create_subprocess_exec(
        program,
        *("-v", "4", str(config)),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def main(quick: bool) -> dict[str, float | None]:
    with tempfile.TemporaryDirectory(prefix="gsmgw-bench-smpp-") as name:
        folder = Path(name)
        node = SmppNode(folder, MODEMS, free_port())
        await node.start()
        try:
            esme = await Esme.bind(node.port)
            samples = 200 if quick else LATENCY_SAMPLES
            await latency(esme, WARM_UP)
            assert node.process is not None
            steal, total = cpu_times()
            times, daemon_cpu = await latency_and_cpu(esme, node.process.pid, samples)
            node.set_send_delay(NETWORK_SEND_DELAY)
            paced, paced_cpu = await latency_and_cpu(esme, node.process.pid, samples)
            steal_after, total_after = cpu_times()
            node.set_send_delay(0.0)
            # The backlog of the network-pace run leaves before the window run counts messages.
            queued = WARM_UP + 2 * samples
            await until(lambda: node.accepted() >= queued, DRAIN_TIMEOUT)
            submits, end_to_end = await windowed(esme, node, 1000 if quick else 3000)
            await esme.close()
            kannel = await through_kannel(folder, node, 200 if quick else 1000)
        finally:
            await node.stop()
    rtts = round_trips(samples, statistics.median(times) / 1000)
    fsyncs = fsync_times(samples)
    return {
        "submit_resp_ms_p50_network_pace": round(statistics.median(paced), 2),
        "submit_resp_ms_p99_network_pace": round(p99(paced), 2),
        "daemon_cpu_ms_per_submit_network_pace": round(paced_cpu, 2),
        "submit_resp_ms_p50": round(statistics.median(times), 2),
        "submit_resp_ms_p99": round(p99(times), 2),
        "latency_samples": len(times),
        "daemon_cpu_ms_per_submit": round(daemon_cpu, 2),
        "cpu_steal_pct": round(100 * (steal_after - steal) / max(total_after - total, 1), 1),
        "floor_rtt_ms_p50": round(statistics.median(rtts), 2),
        "floor_rtt_ms_p99": round(p99(rtts), 2),
        "fsync_ms_p50": round(statistics.median(fsyncs), 2),
        "fsync_ms_p99": round(p99(fsyncs), 2),
        "window10_submits_per_s": round(submits, 1),
        "window10_end_to_end_msgs_per_s": round(end_to_end, 1),
        "kannel_end_to_end_msgs_per_s": None if kannel is None else round(kannel, 1),
    }


LABELS = {
    "submit_resp_ms_p50_network_pace": "submit_sm -> submit_sm_resp, 2 s per SMS, median (ms)",
    "submit_resp_ms_p99_network_pace": "submit_sm -> submit_sm_resp, 2 s per SMS, 99th pct (ms)",
    "daemon_cpu_ms_per_submit_network_pace": "the daemon's CPU time per submit meanwhile (ms)",
    "submit_resp_ms_p50": "submit_sm -> submit_sm_resp, zero-delay modems, median (ms)",
    "submit_resp_ms_p99": "submit_sm -> submit_sm_resp, zero-delay modems, 99th pct (ms)",
    "daemon_cpu_ms_per_submit": "the daemon's CPU time per message meanwhile (ms)",
    "cpu_steal_pct": "CPU time the hypervisor took in both latency runs (%)",
    "floor_rtt_ms_p50": "floor: TCP round trip between processes, median (ms)",
    "floor_rtt_ms_p99": "floor: TCP round trip between processes, 99th pct (ms)",
    "fsync_ms_p50": "floor: 4 KiB append + fsync, median (ms)",
    "fsync_ms_p99": "floor: 4 KiB append + fsync, 99th pct (ms)",
    "window10_submits_per_s": "window of 10, durable submits/s",
    "window10_end_to_end_msgs_per_s": "window of 10, to the network, 4 modems (msg/s)",
    "kannel_end_to_end_msgs_per_s": "Kannel sendsms -> network, 4 modems (msg/s)",
}


def cli() -> None:
    run(__doc__, main, LABELS)


if __name__ == "__main__":
    cli()
