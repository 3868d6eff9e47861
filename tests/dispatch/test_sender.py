"""A sender's life as one enum: every transition, allowed or not, as a table."""

from __future__ import annotations

import itertools

import pytest

from gsmgw.config import ModemConfig
from gsmgw.dispatch import Sender, SenderState
from gsmgw.dispatch._sender import TRANSITIONS, advance
from gsmgw.errors import LocalProtocolError
from gsmgw.models import MessageState, OutgoingMessage, OutgoingPart, utc_now

IDLE, C, S, H, R, X = (
    SenderState.IDLE,
    SenderState.CLAIMING,
    SenderState.SENDING,
    SenderState.HOLDING,
    SenderState.RESTING,
    SenderState.STOPPED,
)

#: Written out by hand, apart from the implementation: what the dispatcher may do.
ALLOWED = {
    IDLE: {C, R, X},  # look for work; rest; stop
    C: {IDLE, S, H, R, X},  # nothing found or handed on; send; hold; rest; stop
    S: {IDLE, R, X},  # done; a failure's rest; stop
    H: {S, H, IDLE, R, X},  # send here after all; hold again; handed on; rest; stop
    R: {C, R, X},  # look for work again; still resting; stop
    X: {X},  # final
}


def test_the_table_is_the_implementation() -> None:
    expected = {(old, new) for old, targets in ALLOWED.items() for new in targets}
    assert expected == set(TRANSITIONS)


@pytest.mark.parametrize(("old", "new"), list(itertools.product(SenderState, repeat=2)))
def test_every_transition_is_allowed_or_refused(old: SenderState, new: SenderState) -> None:
    if new in ALLOWED[old]:
        assert advance(old, new) is new
    else:
        with pytest.raises(LocalProtocolError, match=f"from {old.name} to {new.name}"):
            advance(old, new)


def _message() -> OutgoingMessage:
    return OutgoingMessage(
        id="m1",
        to="+491701234567",
        text="hi",
        state=MessageState.SENDING,
        priority=0,
        created_at=utc_now(),
        parts=(OutgoingPart(part_no=1, pdu_hex="00", tpdu_length=1),),
    )


def in_hand(sender: Sender) -> OutgoingMessage | None:
    return sender.message  # read through a call: mypy keeps an attribute's narrowing


def test_a_message_is_in_hand_exactly_while_sending_or_holding() -> None:
    sender = Sender(config=ModemConfig(id="s1", port="sim:a"))
    with pytest.raises(LocalProtocolError, match="needs a message"):
        sender.enter(SenderState.CLAIMING, _message())
    sender.enter(SenderState.CLAIMING)
    with pytest.raises(LocalProtocolError, match="needs a message"):
        sender.enter(SenderState.SENDING)
    sender.enter(SenderState.SENDING, _message())
    assert sender.message is not None
    assert sender.busy_parts == 1
    assert sender.waiting == 0
    sender.enter(SenderState.IDLE)
    assert in_hand(sender) is None
    assert sender.busy_parts == 0


def test_a_held_message_counts_as_waiting_not_as_busy() -> None:
    sender = Sender(config=ModemConfig(id="s1", port="sim:a"))
    sender.enter(SenderState.CLAIMING)
    sender.enter(SenderState.HOLDING, _message())
    sender.handed = _message()
    assert (sender.busy_parts, sender.waiting) == (0, 2)
    assert sender.view(0.0).queued_parts == 1  # the handed one; the held one is routed again


def test_stopped_is_final() -> None:
    sender = Sender(config=ModemConfig(id="s1", port="sim:a"))
    sender.enter(SenderState.STOPPED)
    sender.enter(SenderState.STOPPED)
    with pytest.raises(LocalProtocolError):
        sender.enter(SenderState.RESTING)
