"""What ``gsmgw doctor`` concludes about ``[smpp]``: the users file and the listener; pure.

The users file is judged by the daemon's own rules (``gsmgw.config``): a file others may read is
refused at start, and so is any malformed line. A line's problem names its number, never its
text, which holds a password.
"""

from __future__ import annotations

import errno
import stat

from gsmgw.config import parse_smpp_users, readable_by_others
from gsmgw.doctor._judge import Account, Check, FileFacts, Status, access_check, fail, ok, warn

#: The name of every check here, so ``--json`` readers find them whether SMPP is on or off.
LISTEN = "smpp listen"
USERS = "smpp users"
#: Bad lines named in one message; the rest are counted.
MAX_LINES = 5
#: SMPP's registered port (IANA), suggested when the configured one cannot be used.
SMPP_PORT = 2775


def smpp_off() -> Check:
    """Say that the SMPP server is off."""
    return ok(LISTEN, "SMPP is off ([smpp] listen is empty)")


def users_file_check(
    path: str, facts: FileFacts | None, account: Account, text: str | None, *, error: str = ""
) -> Check:
    """Judge ``[smpp] users_file``: there, private, readable by the daemon, every line sound.

    ``facts`` is None when the file could not be looked at, ``text`` None when it could not be
    read here; ``error`` says why.
    """
    private = f"sudo chgrp gsmgw {path} && sudo chmod 0640 {path}"
    if facts is None:
        hint = "create it: one system_id:password[:mo] per line, then " + private
        return fail(USERS, f"{path}: {error or 'cannot look at it'}", hint)
    if not stat.S_ISREG(facts.mode):
        return fail(USERS, f"{path} is not a file", "set smpp.users_file to a file")
    mode = f"mode {facts.mode & 0o777:04o}"
    if readable_by_others(facts.mode):
        message = f"{path} is readable by others ({mode}): the daemon refuses to start"
        return fail(USERS, message, f"it holds passwords: {private}")
    access = access_check(USERS, path, facts, account, want=4)
    if access.status is not Status.OK:
        hint = f"{private} (sudo gsmgw doctor judges as the service's user gsmgw)"
        return fail(USERS, access.message, hint)
    if text is None:
        message = f"{path}: cannot read it here: {error or 'unknown error'}"
        return warn(USERS, message, "run sudo gsmgw doctor, or sudo -u gsmgw gsmgw doctor")
    return _lines_check(path, text, mode)


def _lines_check(path: str, text: str, mode: str) -> Check:
    users, problems = parse_smpp_users(text)
    if problems:
        shown = "; ".join(problems[:MAX_LINES])
        more = len(problems) - MAX_LINES
        shown += f"; and {more} more" if more > 0 else ""
        hint = "one system_id:password[:mo] per line (system_id 1-15, password 1-8 characters)"
        return fail(USERS, f"{path} {shown}", hint + ": the daemon refuses the file as it is")
    if not users:
        hint = "add a line system_id:password[:mo] for each ESME (Kannel, Jasmin...)"
        return fail(USERS, f"{path} holds no user", hint)
    mo = sum(user.mo for user in users)
    return ok(USERS, f"{path}: {len(users)} users ({mo} get MO SMS), {mode}")


def listener_answers(where: str, problem: str | None, *, sessions: int | None) -> Check:
    """Judge a connection to the running daemon's SMPP address (``problem`` None: accepted)."""
    if problem is None:
        plural = "" if sessions == 1 else "s"
        bound = "" if sessions is None else f" ({sessions} session{plural} bound)"
        return ok(LISTEN, f"the daemon accepts SMPP connections on {where}{bound}")
    return fail(
        LISTEN,
        f"the daemon runs but {where} does not accept connections: {problem}",
        "started with another [smpp]? sudo systemctl restart gsmgw; see journalctl -u gsmgw",
    )


def listener_free(
    where: str, port: int, problem: int | str | None, *, uid: int, lowest_free: int = 1024
) -> Check:
    """Judge a trial listen on ``where`` while no daemon runs.

    ``problem`` is None (it worked), an ``errno`` or a message (a host that does not resolve);
    ``uid`` is the daemon's user and ``lowest_free`` the lowest port anyone may listen on
    (``net.ipv4.ip_unprivileged_port_start``).
    """
    other = f"use another port in smpp.listen ({SMPP_PORT} is SMPP's usual one)"
    if problem == errno.EADDRINUSE:
        hint = f"sudo ss -ltnp 'sport = :{port}' names the program; stop it, or {other}"
        return fail(LISTEN, f"{where} is in use by another program", hint)
    if problem == errno.EACCES:
        return fail(LISTEN, f"may not listen on port {port} (below {lowest_free})", other)
    if problem == errno.EADDRNOTAVAIL:
        hint = "use 127.0.0.1, 0.0.0.0, [::] or an address `ip -br addr` lists"
        return fail(LISTEN, f"{where}: the host is not an address of this machine", hint)
    if isinstance(problem, str):
        return fail(LISTEN, f"cannot listen on {where}: {problem}", "fix the host in smpp.listen")
    if problem is not None:
        reason = errno.errorcode.get(problem, str(problem))
        return fail(LISTEN, f"cannot listen on {where}: {reason}", "check smpp.listen")
    if 0 < port < lowest_free and uid != 0:
        message = f"{where} is free, but port {port} is below {lowest_free}"
        hint = f"the daemon's user needs CAP_NET_BIND_SERVICE; or {other}"
        return warn(LISTEN, message, hint)
    return ok(LISTEN, f"{where} is free: the daemon listens there at start")
