"""The SMPP server's query_sm, cancel_sm, delivery receipts and MO SMS (SPEC.md "SMPP server")."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest
import smpplib.client
import smpplib.consts

from gsmgw.cli.control import request
from gsmgw.cli.status import render
from gsmgw.models import MessageState
from gsmgw.smpp import (
    BindKind,
    CancelSm,
    CancelSmResp,
    DeliverSm,
    DeliverSmResp,
    MessageState as SmppState,
    QuerySm,
    QuerySmResp,
    Status,
    decode_text,
)

from .conftest import Running, eventually, sim, sim_modem
from .smpp_esme import Esme, StartSmpp, ok, smpp_server, start_smpp

__all__ = ["start_smpp"]

RECEIPT = re.compile(
    r"id:(?P<id>\S+) sub:001 dlvrd:(?P<dlvrd>00[01]) submit date:\d{10} done date:\d{10}"
    r" stat:(?P<stat>[A-Z]+) err:\d{3} text:(?P<text>.{0,20})$"
)


async def query(esme: Esme, message_id: str) -> QuerySmResp:
    await esme.send(QuerySm(sequence=esme.seq(), message_id=message_id, source_addr="shop"))
    return await esme.recv_type(QuerySmResp)


async def cancel(esme: Esme, message_id: str) -> CancelSmResp:
    await esme.send(CancelSm(sequence=esme.seq(), message_id=message_id))
    return await esme.recv_type(CancelSmResp)


async def state_of(running: Running, message_id: str) -> MessageState | None:
    message = await running.daemon.store.get_message(message_id)
    return None if message is None else message.state


async def pending(running: Running) -> dict[str, int]:
    return await running.daemon.store.smpp_pending_counts()


async def test_query_and_cancel_work_on_the_users_own_ids(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind()
    later = await esme.submit(short_message=b"later", schedule_delivery_time="000000010000000R")
    answer = await query(esme, later.message_id)
    assert (answer.status, answer.message_state) == (0, SmppState.ENROUTE)
    assert answer.message_id == later.message_id

    other = await Esme.connect(port)
    await other.bind(user="other", password="pw2")
    assert (await query(other, later.message_id)).status == Status.ESME_RQUERYFAIL
    assert (await cancel(other, later.message_id)).status == Status.ESME_RCANCELFAIL
    assert (await query(esme, "no-such-id")).status == Status.ESME_RQUERYFAIL
    assert (await cancel(esme, "no-such-id")).status == Status.ESME_RCANCELFAIL

    assert ok((await cancel(esme, later.message_id)).status)
    assert await state_of(running, later.message_id) is MessageState.CANCELLED
    assert (await query(esme, later.message_id)).message_state == SmppState.DELETED

    sent = await esme.submit(short_message=b"now")
    await eventually(lambda: len(sim("s1").sim.sent) == 1)
    async with asyncio.timeout(10):
        while await state_of(running, sent.message_id) is not MessageState.SENT:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    assert (await query(esme, sent.message_id)).message_state == SmppState.ACCEPTED
    assert (await cancel(esme, sent.message_id)).status == Status.ESME_RCANCELFAIL  # too late
    await esme.close()
    await other.close()
    assert await running.stop() == 0


async def test_query_sm_with_smpplib(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind()
    later = await esme.submit(short_message=b"later", schedule_delivery_time="000000010000000R")

    def ask() -> tuple[int, int]:
        client = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
        client.connect()
        # smpplib sends query_sm only when bound as receiver or transceiver.
        client.bind_transceiver(system_id="shop", password="secret1")
        client.query_message(
            message_id=later.message_id,
            source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
            source_addr_npi=0,
            source_addr="shop",
        )
        response = client.read_pdu()
        client.unbind()
        client.disconnect()
        return int(response.status), int(response.message_state)

    assert await asyncio.to_thread(ask) == (0, SmppState.ENROUTE)
    await esme.close()
    assert await running.stop() == 0


async def test_delivery_receipt_after_the_status_report(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind()
    response = await esme.submit(short_message=b"please report back to me", registered_delivery=1)
    receipt = await esme.next_delivery()
    assert receipt.esm_class == 0x04
    assert receipt.data_coding == 0
    assert receipt.tlvs.receipted_message_id == response.message_id
    assert receipt.tlvs.message_state == SmppState.DELIVERED
    # From the handset back to the ESME: the submit's addresses swapped.
    assert (receipt.source_addr_ton, receipt.source_addr) == (1, "491701234567")
    assert (receipt.dest_addr_ton, receipt.destination_addr) == (5, "shop")
    match = RECEIPT.match(decode_text(receipt.short_message, 0))
    assert match is not None, receipt.short_message
    assert match["id"] == response.message_id
    assert (match["dlvrd"], match["stat"], match["text"]) == (
        "001",
        "DELIVRD",
        "please report back t",
    )
    assert await state_of(running, response.message_id) is MessageState.DELIVERED
    async with asyncio.timeout(5):
        while await pending(running):  # noqa: ASYNC110 - the ack is written after the resp
            await asyncio.sleep(0.02)
    await esme.close()
    assert await running.stop() == 0


async def test_receipt_of_a_cancelled_message_and_none_on_success_for_failure_only(
    start_smpp: StartSmpp,
) -> None:
    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind()
    quiet = await esme.submit(short_message=b"ok", registered_delivery=2)  # failure only
    later = await esme.submit(
        short_message=b"later", schedule_delivery_time="000000010000000R", registered_delivery=1
    )
    assert ok((await cancel(esme, later.message_id)).status)
    receipt = await esme.next_delivery()
    assert receipt.tlvs.receipted_message_id == later.message_id
    assert receipt.tlvs.message_state == SmppState.DELETED
    assert b"stat:DELETED" in receipt.short_message
    async with asyncio.timeout(10):
        while await state_of(running, quiet.message_id) is not MessageState.DELIVERED:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    assert await pending(running) == {}
    await esme.close()
    assert await running.stop() == 0


async def test_mo_sms_go_to_mo_users_round_robin(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp(modems=sim_modem("s1", "number = '+4915112345678'"))
    first, second = await Esme.connect(port), await Esme.connect(port)
    await first.bind(BindKind.RECEIVER)
    await second.bind(BindKind.TRANSCEIVER)
    other = await Esme.connect(port)
    await other.bind(BindKind.RECEIVER, user="other", password="pw2")  # not marked mo
    sim("s1").sim.inject_sms("+491705555555", "Grüße aus Köln")
    sim("s1").sim.inject_sms("+491705555555", "Привет")
    got: list[DeliverSm] = []
    for esme in (first, second):
        got.append(await esme.next_delivery())  # one each: round-robin
    texts = sorted(decode_text(pdu.short_message, pdu.data_coding) for pdu in got)
    assert texts == ["Grüße aus Köln", "Привет"]
    codings = {decode_text(p.short_message, p.data_coding): p.data_coding for p in got}
    assert codings == {"Grüße aus Köln": 0, "Привет": 8}
    for pdu in got:
        assert pdu.esm_class == 0
        assert (pdu.source_addr_ton, pdu.source_addr) == (1, "491705555555")
        assert (pdu.dest_addr_ton, pdu.destination_addr) == (1, "4915112345678")
    with pytest.raises(TimeoutError):
        await other.recv_type(DeliverSm, patience=0.5)
    for esme in (first, second, other):
        await esme.close()
    assert await running.stop() == 0


async def test_deliveries_wait_for_a_session_and_survive_a_restart(
    start_smpp: StartSmpp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smpp_server, "RETRY_DELAY", 0.2)
    running, port = await start_smpp()
    transmitter = await Esme.connect(port)
    await transmitter.bind(BindKind.TRANSMITTER)  # no receiver bound: receipts wait
    response = await transmitter.submit(short_message=b"wait for me", registered_delivery=1)
    sim("s1").sim.inject_sms("+491705555555", "long " * 60)  # 300 octets: message_payload
    async with asyncio.timeout(10):
        while await pending(running) != {"shop": 2}:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    await transmitter.close()
    assert await running.stop() == 0

    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind(BindKind.RECEIVER)
    refused = await esme.next_delivery(ack=False)
    await esme.send(DeliverSmResp(sequence=refused.sequence, status=Status.ESME_RSYSERR))
    again = [await esme.next_delivery(), await esme.next_delivery()]
    assert refused in [dataclasses.replace(p, sequence=refused.sequence) for p in again]
    receipts = [p for p in again if p.esm_class == 0x04]
    mo = [p for p in again if p.esm_class == 0]
    assert receipts[0].tlvs.receipted_message_id == response.message_id
    assert mo[0].short_message == b""
    assert mo[0].tlvs.message_payload == b"long " * 60
    async with asyncio.timeout(5):
        while await pending(running):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    await esme.close()
    assert await running.stop() == 0


async def test_status_shows_smpp_sessions_and_pending_deliveries(start_smpp: StartSmpp) -> None:
    running, port = await start_smpp()
    esme = await Esme.connect(port)
    await esme.bind(BindKind.TRANSMITTER)
    await esme.submit(short_message=b"report", registered_delivery=1)
    async with asyncio.timeout(10):
        while await pending(running) != {"shop": 1}:  # noqa: ASYNC110 - no receiver bound
            await asyncio.sleep(0.02)
    status = await request(running.control, "status")
    assert status["smpp"]["pending_deliveries"] == {"shop": 1}
    [session] = status["smpp"]["sessions"]
    assert (session["user"], session["bind"], session["window"]) == ("shop", "transmitter", 0)
    text = render(status)
    assert "SMPP USER" in text
    assert re.search(r"^shop\s+transmitter\s+0\s+1\s+127\.0\.0\.1:\d+$", text, re.MULTILINE)
    await esme.close()
    assert await running.stop() == 0
