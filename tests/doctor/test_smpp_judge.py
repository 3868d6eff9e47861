"""The judgments of ``gsmgw doctor`` on ``[smpp]`` (gsmgw.doctor._smpp), with plain values."""

from __future__ import annotations

import errno
import stat

import pytest

from gsmgw.doctor._judge import Account, FileFacts, Status
from gsmgw.doctor._smpp import (
    LISTEN,
    USERS,
    listener_answers,
    listener_free,
    smpp_off,
    users_file_check,
)

GSMGW_GID = 120
SERVICE = Account(
    name="gsmgw", uid=110, groups=frozenset({GSMGW_GID}), listed=frozenset({GSMGW_GID})
)
STRANGER = Account(name="pi", uid=1000, groups=frozenset({1000}), listed=frozenset({1000}))
PATH = "/etc/gsmgw/smpp.users"
#: As README says to leave it: -rw-r----- root gsmgw.
PRIVATE = FileFacts(mode=stat.S_IFREG | 0o640, uid=0, gid=GSMGW_GID, group="gsmgw")
USERS_TEXT = "# system_id:password[:mo]\nkannel:k4nnel!:mo\njasmin:jasm1n\n"


def test_a_private_file_of_sound_lines_is_ok() -> None:
    check = users_file_check(PATH, PRIVATE, SERVICE, USERS_TEXT)
    assert check.status is Status.OK
    assert check.name == USERS
    assert "2 users (1 get MO SMS)" in check.message
    assert "mode 0640" in check.message


def test_a_missing_file_fails_saying_how_to_make_one() -> None:
    check = users_file_check(PATH, None, SERVICE, None, error="No such file or directory")
    assert check.status is Status.FAIL
    assert "No such file" in check.message
    assert "system_id:password[:mo]" in check.hint
    assert "chmod 0640" in check.hint


def test_a_folder_is_not_a_users_file() -> None:
    folder = FileFacts(mode=stat.S_IFDIR | 0o750, uid=0, gid=GSMGW_GID, group="gsmgw")
    assert users_file_check(PATH, folder, SERVICE, None).status is Status.FAIL


def test_readable_by_others_fails_as_the_daemon_refuses_it() -> None:
    world = FileFacts(mode=stat.S_IFREG | 0o644, uid=0, gid=GSMGW_GID, group="gsmgw")
    check = users_file_check(PATH, world, SERVICE, USERS_TEXT)
    assert check.status is Status.FAIL
    assert "readable by others (mode 0644)" in check.message
    assert "refuses to start" in check.message
    assert f"chmod 0640 {PATH}" in check.hint


def test_not_readable_by_the_daemons_user() -> None:
    roots = FileFacts(mode=stat.S_IFREG | 0o600, uid=0, gid=0, group="root")
    check = users_file_check(PATH, roots, SERVICE, USERS_TEXT)
    assert check.status is Status.FAIL
    assert "user gsmgw may not use it" in check.message
    assert f"chgrp gsmgw {PATH}" in check.hint
    outsider = users_file_check(PATH, PRIVATE, STRANGER, None)
    assert outsider.status is Status.FAIL
    assert "sudo gsmgw doctor" in outsider.hint


def test_readable_by_mode_but_not_here_is_a_warning() -> None:
    check = users_file_check(PATH, PRIVATE, SERVICE, None, error="Operation not permitted")
    assert check.status is Status.WARN
    assert "Operation not permitted" in check.message


def test_bad_lines_are_named_and_their_passwords_never_shown() -> None:
    text = (
        "kannel:k4nnel!:mo\n"
        "nocolon\n"
        "jasmin:toolongpassword\n"
        "kannel:s3cr3t\n"
        "x:y:admin\n"
        "sixteen-chars-id:pw\n"
    )
    check = users_file_check(PATH, PRIVATE, SERVICE, text)
    assert check.status is Status.FAIL
    assert "line 2: not system_id:password[:mo]" in check.message
    assert "line 3: a password is 1-8 printable characters" in check.message
    assert "line 4: the system_id 'kannel' is there twice" in check.message
    assert "line 5: not system_id:password[:mo]" in check.message
    assert "line 6: a system_id is 1-15 printable characters" in check.message
    for secret in ("k4nnel!", "toolongpassword", "s3cr3t", "admin"):
        assert secret not in check.message + check.hint


def test_many_bad_lines_are_counted_past_five() -> None:
    check = users_file_check(PATH, PRIVATE, SERVICE, "bad\n" * 8)
    assert "line 5:" in check.message
    assert "line 6:" not in check.message
    assert "and 3 more" in check.message


def test_undecodable_octets_name_their_line() -> None:
    text = b"kannel:k4nnel!\njasmin:p\xe4ss\n".decode("utf-8", errors="replace")
    check = users_file_check(PATH, PRIVATE, SERVICE, text)
    assert check.status is Status.FAIL
    assert "line 2: a password" in check.message


def test_a_file_of_comments_holds_no_user() -> None:
    check = users_file_check(PATH, PRIVATE, SERVICE, "# nobody yet\n\n")
    assert check.status is Status.FAIL
    assert "holds no user" in check.message


def test_smpp_off_is_an_ok_line() -> None:
    check = smpp_off()
    assert (check.name, check.status) == (LISTEN, Status.OK)
    assert "off" in check.message


def test_the_running_daemon_accepts() -> None:
    check = listener_answers("127.0.0.1:2775", None, sessions=2)
    assert check.status is Status.OK
    assert "accepts SMPP connections on 127.0.0.1:2775 (2 sessions bound)" in check.message


def test_the_running_daemon_does_not_accept() -> None:
    check = listener_answers("127.0.0.1:2775", "Connection refused", sessions=None)
    assert check.status is Status.FAIL
    assert "Connection refused" in check.message
    assert "restart" in check.hint


def test_a_free_address() -> None:
    check = listener_free("0.0.0.0:2775", 2775, None, uid=110)
    assert check.status is Status.OK
    assert "is free" in check.message


@pytest.mark.parametrize(
    ("problem", "message", "hint"),
    [
        (errno.EADDRINUSE, "in use by another program", "ss -ltnp 'sport = :2775'"),
        (errno.EACCES, "may not listen on port 2775", "2775"),
        (errno.EADDRNOTAVAIL, "not an address of this machine", "ip -br addr"),
        ("Name or service not known", "Name or service not known", "host"),
        (errno.ENOBUFS, "ENOBUFS", "smpp.listen"),
    ],
)
def test_an_address_that_cannot_be_listened_on(problem: int | str, message: str, hint: str) -> None:
    check = listener_free("10.9.9.9:2775", 2775, problem, uid=110)
    assert check.status is Status.FAIL
    assert message in check.message
    assert hint in check.hint


def test_a_privileged_port_needs_a_capability_unless_root() -> None:
    check = listener_free("0.0.0.0:775", 775, None, uid=110)
    assert check.status is Status.WARN
    assert "CAP_NET_BIND_SERVICE" in check.hint
    assert listener_free("0.0.0.0:775", 775, None, uid=0).status is Status.OK
    lowered = listener_free("0.0.0.0:775", 775, None, uid=110, lowest_free=0)
    assert lowered.status is Status.OK
