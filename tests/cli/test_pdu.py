"""``gsmgw pdu encode`` and ``gsmgw pdu decode`` through gsmgw.cli.main."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gsmgw.cli import main
from gsmgw.sms import Submit, decode_pdu

CORPUS = Path(__file__).parent.parent / "data" / "pdus.jsonl"
RECORDS = {
    record["id"]: record
    for record in map(json.loads, CORPUS.read_text(encoding="utf-8").splitlines())
}


def _json(capsys: pytest.CaptureFixture[str]) -> Any:
    out = capsys.readouterr().out
    return json.loads(out)


def test_encode_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints encoding and parts with the PDU for AT+CMGS and the TPDU length."""
    assert main(["pdu", "encode", "--to", "+441234567890", "--text", "Hi 😀", "--json"]) == 0
    result = _json(capsys)
    assert result["encoding"] == "ucs2"
    (part,) = result["parts"]
    pdu = bytes.fromhex(part["pdu"])
    assert part["length"] == len(pdu) - 1  # "00": the modem's own SMSC
    decoded = decode_pdu(pdu)
    assert isinstance(decoded, Submit)
    assert decoded.text == "Hi 😀"


def test_encode_options(capsys: pytest.CaptureFixture[str]) -> None:
    """Every encode option reaches the PDU."""
    argv = ["pdu", "encode", "--to", "+491701234567", "--text", "It\u2019s " + "x" * 290,
            "--encoding", "smart", "--report", "--flash", "--valid-for", "60", "--ref16",
            "--ref", "4660", "--smsc", "+491710760000", "--json"]  # fmt: skip
    assert main(argv) == 0
    result = _json(capsys)
    assert result["encoding"] == "gsm7"
    assert len(result["parts"]) == 2
    first = decode_pdu(bytes.fromhex(result["parts"][0]["pdu"]))
    assert isinstance(first, Submit)
    assert first.status_report_request
    assert first.message_class == 0
    assert first.validity == 300
    assert first.concat is not None
    assert (first.concat.ref, first.concat.ref_bits) == (4660, 16)
    assert first.smsc == "+491710760000"


def test_encode_language(capsys: pytest.CaptureFixture[str]) -> None:
    """--language enables national shift tables."""
    argv = ["pdu", "encode", "--to", "+905321234567", "--text", "Görüşürüz, teşekkürler ığş" * 5]
    assert main([*argv, "--json"]) == 0
    assert _json(capsys)["encoding"] == "ucs2"
    assert main([*argv, "--language", "tr", "--json"]) == 0
    result = _json(capsys)
    assert (result["encoding"], result["language"]) == ("gsm7", "tr")


def test_encode_readable(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json: the encoding and one AT+CMGS line and PDU per part."""
    assert main(["pdu", "encode", "--to", "12345", "--text", "a" * 200]) == 0
    out = capsys.readouterr().out
    assert "encoding: gsm7" in out
    assert out.count("AT+CMGS=") == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--to", "not-a-number", "--text", "x"], "invalid_number"),
        (["--to", "+4917", "--text", "x" * 400, "--max-parts", "2"], "text_too_long"),
    ],
)
def test_encode_failures(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad number or a too-long text: a clear error and exit 1."""
    assert main(["pdu", "encode", *argv]) == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["pdu"],
        ["pdu", "encode", "--text", "x"],
        ["pdu", "encode", "--to", "1", "--text", "x", "--encoding", "latin1"],
        ["pdu", "encode", "--to", "1", "--text", "x", "--language", "klingon"],
        ["pdu", "encode", "--to", "1", "--text", "x", "--valid-for", "-1"],
        ["pdu", "encode", "--to", "1", "--text", "x", "--valid-for", "soon"],
        ["pdu", "decode"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Usage errors are argparse's: exit status 2."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert capsys.readouterr().err


def test_decode_json_deliver_and_status_report(capsys: pytest.CaptureFixture[str]) -> None:
    """A DELIVER and a status report (without SMSC) as JSON objects."""
    deliver = RECORDS["mm-pdu2"]["pdu"]
    assert main(["pdu", "decode", deliver, "--json"]) == 0
    (view,) = _json(capsys)
    assert view == {
        "type": "deliver", "smsc": "+79037011111", "from": "InternetSMS",
        "timestamp": "2011-03-29T19:20:04+04:00", "text": "тест", "encoding": "ucs2",
        "concat": None, "class": None, "ports": None, "dcs": 8, "pid": 0,
    }  # fmt: skip
    report = RECORDS["ofono-status-report-3"]["pdu"]
    assert main(["pdu", "decode", "--no-smsc", "--json", report]) == 0
    (view,) = _json(capsys)
    assert (view["type"], view["reference"], view["status"], view["state"]) == (
        "status-report", 6, 0, "delivered",
    )  # fmt: skip
    assert view["discharge_time"] == "2010-09-21T14:03:54+02:30"
    assert view["to"] == "123456789"


def test_decode_several_and_submit_and_data(capsys: pytest.CaptureFixture[str]) -> None:
    """Several PDUs give a list; a SUBMIT has "to"; 8-bit data comes as data_hex; concat."""
    pdus = [RECORDS[name]["pdu"] for name in ("pgm-decode-9", "ofono-wap-push-1")]
    submit = RECORDS["pgm-decode-8"]["pdu"]
    assert main(["pdu", "decode", *pdus, "--json"]) == 0
    first, second = _json(capsys)
    assert (first["type"], first["to"], first["encoding"]) == ("submit", "+27821234567", "8bit")
    assert first["data_hex"] == "48656C6C6F20776F726C6421"
    assert second["ports"]["destination"] == 2948
    assert main(["pdu", "decode", submit, "--json"]) == 1  # over-long TP-UDL
    capsys.readouterr()
    assert main(["pdu", "decode", RECORDS["mm-multipart-1"]["pdu"], "--json"]) == 0
    concat = _json(capsys)[0]["concat"]
    assert set(concat) == {"ref", "part", "total"}
    assert concat["total"] >= 2


def test_decode_readable(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json: aligned fields, a blank line between PDUs."""
    pdus = [RECORDS["mm-pdu1"]["pdu"], RECORDS["ofono-wap-push-1"]["pdu"]]
    assert main(["pdu", "decode", *pdus]) == 0
    out = capsys.readouterr().out
    assert "from:" in out
    assert "+16175927198" in out
    assert "\n\n" in out
    assert "destination=2948" in out


@pytest.mark.parametrize("bad", ["12ZZ", "0", "0001", RECORDS["mm-invalid-wrong-udh"]["pdu"]])
def test_decode_errors_exit_1(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad hex or a malformed PDU: a clear error naming the PDU, exit 1."""
    assert main(["pdu", "decode", RECORDS["mm-pdu3"]["pdu"], bad]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("gsmgw: error: PDU 2:")
    assert captured.out == ""
