"""The SMPP server (SPEC.md "SMPP server"): sessions, submits and refusals, with real clients.

python-smpplib (a blocking client, run in a thread) binds and submits as ESMEs do; the bare
``Esme`` of smpp_esme.py sends what no client library would: garbage, truncated PDUs, windows.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import smpplib.client
import smpplib.consts
import smpplib.exceptions

from gsmgw.smpp import (
    BindKind,
    DataSm,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Status,
    SubmitSm,
    SubmitSmResp,
    Tlvs,
    Unbind,
    UnbindResp,
    encode,
)

from .conftest import eventually, sim
from .smpp_esme import Esme, StartSmpp, ok, smpp_server, start_smpp

__all__ = ["start_smpp"]


def smpplib_client(port: int) -> smpplib.client.Client:
    client = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    client.connect()
    return client


async def test_binds_are_checked_against_the_users_file(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp()

    def wrong_binds() -> list[int]:
        statuses = []
        for system_id, password in (("shop", "wrong"), ("nobody", "secret1")):
            client = smpplib_client(port)
            try:
                client.bind_transceiver(system_id=system_id, password=password)
            except smpplib.exceptions.PDUError as exc:
                statuses.append(exc.args[1])
            finally:
                client.disconnect()
        client = smpplib_client(port)
        response = client.bind_transmitter(system_id="shop", password="secret1")
        statuses.append(int(response.status))
        client.unbind()
        client.disconnect()
        return statuses

    statuses = await asyncio.to_thread(wrong_binds)
    assert statuses == [Status.ESME_RINVPASWD, Status.ESME_RINVSYSID, Status.ESME_ROK]

    esme = await Esme.connect(port)
    assert ok((await esme.bind()).status)
    again = await esme.bind(BindKind.RECEIVER)
    assert again.status == Status.ESME_RALYBND
    await esme.close()
    assert await running.stop() == 0


async def test_submit_is_answered_after_the_commit_with_the_message_id(
    start_smpp: StartSmpp,
) -> None:
    running, port = await start_smpp(gateway="default_region = 'DE'")
    esme = await Esme.connect(port)
    await esme.bind(BindKind.TRANSMITTER)
    international = await esme.submit(short_message=b"hello", priority_flag=2)
    national = await esme.submit(
        dest_addr_ton=2, destination_addr="01701234568", short_message=b"x"
    )
    assert ok(international.status)
    assert ok(national.status)
    stored = await running.daemon.store.get_message(international.message_id)
    assert stored is not None  # committed before its submit_sm_resp
    assert (stored.to, stored.text, stored.priority) == ("+491701234567", "hello", 20)
    other = await running.daemon.store.get_message(national.message_id)
    assert other is not None
    assert other.to == "+491701234568"
    assert len(international.message_id) <= 64
    assert " " not in international.message_id
    await eventually(lambda: len(sim("s1").sim.sent) == 2)
    await esme.close()
    assert await running.stop() == 0


@pytest.mark.parametrize(
    ("data_coding", "octets", "text"),
    [
        (0, b"\x1b\x65 5 \x00", "€ 5 @"),  # GSM 03.38 unpacked, with an escape
        (1, b"plain ASCII", "plain ASCII"),
        (3, "café".encode("latin-1"), "café"),
        (8, "Привет 👋".encode("utf-16-be"), "Привет 👋"),
    ],
)
async def test_data_coding_maps_to_text(
    start_smpp: StartSmpp, data_coding: int, octets: bytes, text: str
) -> None:
    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind()
    response = await esme.submit(data_coding=data_coding, short_message=octets)
    stored = await running.daemon.store.get_message(response.message_id)
    assert stored is not None
    assert stored.text == text
    long_text = "long " * 100
    payload = await esme.submit(data_coding=1, tlvs=Tlvs.of(message_payload=long_text.encode()))
    stored = await running.daemon.store.get_message(payload.message_id)
    assert stored is not None
    assert stored.text == long_text
    await esme.close()


async def test_times_priority_and_receipt_flags_map_to_the_request(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind()
    before = datetime.now(UTC)
    response = await esme.submit(
        short_message=b"later",
        schedule_delivery_time="000000010000000R",  # in one hour
        validity_period="000000020000000R",  # two hours
        registered_delivery=1,
        priority_flag=3,
    )
    stored = await running.daemon.store.get_message(response.message_id)
    assert stored is not None
    assert stored.send_at is not None
    assert stored.expires_at is not None
    assert stored.report
    assert stored.priority == 30
    assert abs(stored.send_at - (before + timedelta(hours=1))) < timedelta(seconds=5)
    assert abs(stored.expires_at - (before + timedelta(hours=2))) < timedelta(seconds=5)
    absolute = await esme.submit(short_message=b"abs", schedule_delivery_time="991231235959000+")
    stored = await running.daemon.store.get_message(absolute.message_id)
    assert stored is not None
    assert stored.send_at == datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)
    expired = await esme.submit(short_message=b"x", validity_period="000101000000000+")
    assert expired.status == Status.ESME_RINVEXPIRY
    bad_time = await esme.submit(short_message=b"x", schedule_delivery_time="tomorrow")
    assert bad_time.status == Status.ESME_RINVSCHED
    bad_priority = await esme.submit(short_message=b"x", priority_flag=7)
    assert bad_priority.status == Status.ESME_RINVPRTFLG
    await esme.close()


async def test_refusals_map_to_spec_statuses(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp(
        gateway="max_queue = 2\nallow_prefixes = ['+49']\nmax_parts = 2"
    )
    esme = await Esme.connect(port)
    await esme.bind()
    sim("s1").sim.send_delay = 5.0  # keep the first messages queued
    blocked = await esme.submit(destination_addr="441234567890", short_message=b"x")
    assert blocked.status == Status.ESME_RINVDSTADR
    invalid = await esme.submit(destination_addr="12ab", short_message=b"x")
    assert invalid.status in (Status.ESME_RINVDSTADR, Status.ESME_RINVDSTADR)
    too_long = await esme.submit(data_coding=1, tlvs=Tlvs.of(message_payload=b"x" * 40_000))
    assert too_long.status == Status.ESME_RINVMSGLEN
    bad_text = await esme.submit(data_coding=8, short_message=b"\xd8\x00")  # lone surrogate
    assert bad_text.status == Status.ESME_RSYSERR
    results = [await esme.submit(short_message=b"fill") for _ in range(3)]
    assert [r.status for r in results][-1] == Status.ESME_RTHROTTLED  # queue_full
    sim("s1").sim.send_delay = 0.0
    await esme.close()
    assert await running.stop() == 0


async def test_receiver_and_unbound_sessions_may_not_submit(start_smpp: StartSmpp) -> None:
    _, port = await start_smpp()
    unbound = await Esme.connect(port)
    refused = await unbound.submit(short_message=b"x")
    assert refused.status == Status.ESME_RINVBNDSTS
    receiver = await Esme.connect(port)
    await receiver.bind(BindKind.RECEIVER)
    refused = await receiver.submit(short_message=b"x")
    assert refused.status == Status.ESME_RINVBNDSTS
    await unbound.close()
    await receiver.close()


async def test_pipelined_submits_with_smpplib(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp()

    def pipeline() -> list[tuple[int, str]]:
        client = smpplib_client(port)
        client.bind_transceiver(system_id="shop", password="secret1")
        for n in range(10):  # all sent before any response is read
            client.send_message(
                source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
                source_addr="shop",
                dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                destination_addr=f"4917012345{n:02d}",
                short_message=f"pipelined {n}".encode(),
            )
        answers: list[tuple[int, str]] = []
        while len(answers) < 10:
            pdu = client.read_pdu()
            if pdu.command == "submit_sm_resp":
                answers.append((int(pdu.status), pdu.message_id.decode()))
        client.unbind()
        client.disconnect()
        return answers

    answers = await asyncio.to_thread(pipeline)
    assert all(status == 0 for status, _ in answers)
    ids = {message_id for _, message_id in answers}
    assert len(ids) == 10
    for message_id in ids:
        assert await running.daemon.store.get_message(message_id) is not None
    assert await running.stop() == 0


async def test_the_eleventh_request_in_flight_is_throttled(start_smpp: StartSmpp) -> None:
    _, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind()
    submits = [
        SubmitSm(
            sequence=esme.seq(),
            dest_addr_ton=1,
            destination_addr="491701234567",
            short_message=b"w",
        )
        for _ in range(30)
    ]
    await esme.send(*submits)  # one write: the server reads them before any commit returns
    statuses = [(await esme.recv_type(SubmitSmResp)).status for _ in submits]
    assert statuses.count(Status.ESME_ROK) >= 10
    assert Status.ESME_RTHROTTLED in statuses
    assert set(statuses) == {Status.ESME_ROK, Status.ESME_RTHROTTLED}
    await esme.close()


async def test_enquire_link_unbind_and_data_sm(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.send(EnquireLink(sequence=7))  # answered even before a bind
    assert await esme.recv() == EnquireLinkResp(sequence=7)
    await esme.bind()
    await esme.send(
        DataSm(
            sequence=8,
            dest_addr_ton=1,
            destination_addr="491701234567",
            tlvs=Tlvs.of(message_payload=b"data sm"),
        )
    )
    response = await esme.recv()
    assert ok(response.status)
    stored = await running.daemon.store.get_message(response.message_id)  # type: ignore[union-attr]
    assert stored is not None
    assert stored.text == "data sm"
    await esme.send(Unbind(sequence=9))
    assert await esme.recv() == UnbindResp(sequence=9)
    assert await esme.closed()
    await esme.close()


async def test_garbage_and_truncated_pdus_never_stop_the_daemon(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp()
    # A length below 16: the framing is lost, generic_nack and the connection closes.
    esme = await Esme.connect(port)
    await esme.write(b"\x00\x00\x00\x05garbage and more garbage")
    nack = await esme.recv()
    assert isinstance(nack, GenericNack)
    assert nack.status == Status.ESME_RINVCMDLEN
    assert await esme.closed()
    await esme.close()
    # An absurd length: the same.
    esme = await Esme.connect(port)
    await esme.write(b"\xff\xff\xff\xff" + bytes(12))
    assert (await esme.recv()).status == Status.ESME_RINVCMDLEN
    assert await esme.closed()
    await esme.close()
    # A truncated PDU, then the client goes away.
    esme = await Esme.connect(port)
    await esme.write(encode(EnquireLink(sequence=1))[:10])
    await esme.close()
    # An unknown command: generic_nack ESME_RINVCMDID, and the session goes on.
    esme = await Esme.connect(port)
    await esme.bind()
    await esme.write(b"\x00\x00\x00\x10\x00\x00\x00\x99\x00\x00\x00\x00\x00\x00\x00\x05")
    assert await esme.recv() == GenericNack(sequence=5, status=Status.ESME_RINVCMDID)
    # A body that does not parse: generic_nack with its status and sequence, the session goes on.
    whole = encode(SubmitSm(sequence=6, destination_addr="123", short_message=b"abc"))
    cut = whole[:20]  # the header says 20 octets: the body ends inside service_type... fields
    bad = len(cut).to_bytes(4, "big") + cut[4:]
    await esme.write(bad)
    nack = await esme.recv()
    assert isinstance(nack, GenericNack)
    assert nack.sequence == 6
    assert nack.status != 0
    await esme.send(EnquireLink(sequence=10))
    assert await esme.recv() == EnquireLinkResp(sequence=10)
    response = await esme.submit(short_message=b"still here")
    assert ok(response.status)
    await esme.close()
    assert await running.stop() == 0


async def test_idle_sessions_are_closed(
    start_smpp: StartSmpp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smpp_server, "IDLE_TIMEOUT", 0.5)
    _, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind()
    for n in range(3):  # enquire_link keeps it open past the timeout
        await asyncio.sleep(0.3)
        await esme.send(EnquireLink(sequence=100 + n))
        assert isinstance(await esme.recv(), EnquireLinkResp)
    assert await esme.closed(patience=5)
    await esme.close()


async def test_sigterm_unbinds_every_session(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind()
    stopping = asyncio.create_task(running.stop())
    unbind = await esme.recv_type(Unbind)
    await esme.send(UnbindResp(sequence=unbind.sequence))
    assert await stopping == 0
    assert await esme.closed()
    await esme.close()


async def test_concatenated_parts_are_stored_and_queued_as_one(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind()
    udh = [bytes([5, 0, 3, 0x42, 3, n]) for n in (1, 2, 3)]
    texts = [b"first part, ", b"second part, ", b"third part"]
    first = await esme.submit(esm_class=0x40, short_message=udh[0] + texts[0])
    third = await esme.submit(esm_class=0x40, short_message=udh[2] + texts[2])
    assert ok(first.status)
    assert first.message_id == third.message_id
    assert await running.daemon.store.get_message(first.message_id) is None  # not complete yet
    second = await esme.submit(esm_class=0x40, short_message=udh[1] + texts[1])
    assert second.message_id == first.message_id
    stored = await running.daemon.store.get_message(first.message_id)
    assert stored is not None
    assert stored.text == "first part, second part, third part"
    # The same with sar_* TLVs.
    ids = []
    for n, text in enumerate((b"sar one ", b"sar two"), start=1):
        response = await esme.submit(short_message=text, tlvs=Tlvs.of(sar=(7, 2, n)))
        ids.append(response.message_id)
    assert ids[0] == ids[1]
    stored = await running.daemon.store.get_message(ids[0])
    assert stored is not None
    assert stored.text == "sar one sar two"
    await eventually(lambda: len(sim("s1").sim.sent) >= 2)
    await esme.close()
    assert await running.stop() == 0


async def test_parts_survive_a_restart(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind()
    udh = [bytes([5, 0, 3, 9, 2, n]) for n in (1, 2)]
    first = await esme.submit(esm_class=0x40, short_message=udh[0] + b"before ")
    assert ok(first.status)
    await esme.close()
    assert await running.stop() == 0
    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind()
    second = await esme.submit(esm_class=0x40, short_message=udh[1] + b"and after")
    assert second.message_id == first.message_id
    stored = await running.daemon.store.get_message(first.message_id)
    assert stored is not None
    assert stored.text == "before and after"
    await esme.close()


async def test_incomplete_sets_are_dropped_with_a_rejectd_receipt(
    start_smpp: StartSmpp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smpp_server, "SET_TIMEOUT", 0.3)
    monkeypatch.setattr(smpp_server, "SET_CHECK_INTERVAL", 0.2)
    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind()
    part = await esme.submit(
        esm_class=0x40, short_message=bytes([5, 0, 3, 1, 2, 1]) + b"lonely", registered_delivery=1
    )
    receipt = await esme.next_delivery()
    assert receipt.esm_class == 0x04
    assert receipt.tlvs.receipted_message_id == part.message_id
    assert b"stat:REJECTD" in receipt.short_message
    assert await running.daemon.store.get_message(part.message_id) is None
    await esme.close()
