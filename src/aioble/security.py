# ruff: noqa: UP041 - MicroPython's asyncio.TimeoutError is not the builtin TimeoutError
# aioble security: pairing, bonding (the secrets file) and passkeys.
#
# - ENCRYPTION_UPDATE keeps each connection's `encrypted`, `authenticated`, `bonded` and
#   `key_size` current, whoever started the pairing, and ends a `pair()` waiting on it.
# - GET_SECRET / SET_SECRET: the stack keeps its bonds here, as opaque values, per radio; once
#   `load_secrets(path)` has chosen a file, every change is written to it at once, atomically
#   (temp file, fsync, rename), readable by its owner only. The file has the reference
#   library's format: a JSON list of [sec_type, base64 key, base64 value].
# - A change that cannot be written to the file is undone here and SET_SECRET answers False
#   ("not stored", as on MicroPython), so nothing claims a bond that a restart would lose. The
#   program is told: `pair()` raises SecretsFileError once the link is encrypted, and
#   `save_error()` keeps the error for pairings the peer started.
# - PASSKEY_ACTION: the program's passkey handler answers (see `PasskeyRequest`). It runs as a
#   task on the program's event loop: inside `pair()` for the pairing that pair() started,
#   else from a small task that `passkey_handler()` starts, so a peer's pairing is served too.
#
# IRQ handlers run on the radio's IRQ thread; they touch plain containers and ThreadSafeFlags.

import asyncio
import binascii
import json
import os
from collections import deque

from .core import (
    Radio,
    ThreadSafeFlag,
    const,
    log_error,
    log_warn,
    radio,
    register_irq_handler,
    register_loop_handler,
    register_stop_handler,
)
from .device import DeviceConnection, DeviceDisconnectedError, _check_connection

try:
    from typing import TYPE_CHECKING
except ImportError:
    TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

    PasskeyHandler = Callable[["PasskeyRequest"], Awaitable[Any] | Any]

_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)
_IRQ_PASSKEY_ACTION = const(31)

# IO capabilities (config(io=...), pair(io=...)).
IO_DISPLAY_ONLY = const(0)
IO_DISPLAY_YESNO = const(1)
IO_KEYBOARD_ONLY = const(2)
IO_NO_INPUT_OUTPUT = const(3)
IO_KEYBOARD_DISPLAY = const(4)

# PasskeyRequest.action.
PASSKEY_INPUT = const(2)
PASSKEY_DISPLAY = const(3)
PASSKEY_NUMERIC_COMPARISON = const(4)

_DEFAULT_PATH = "ble_secrets.json"


class PairingError(Exception):
    """Pairing (or re-encryption) ended without the security that `pair()` asked for: a
    passkey did not match, a number was not confirmed, the peer refused or lost its bond, or
    `mitm=True` was asked and the link is not authenticated.

    The link stays up, in the state the connection's `encrypted`, `authenticated`, `bonded`
    and `key_size` show, and `pair()` may be called again."""


class SecretsFileError(Exception):
    """The secrets file cannot be used. `path` names the file (the symlink's target, when it
    is one, for a write).

    From `load_secrets()`: the file exists but cannot be read, or is not a JSON list of
    [sec_type, base64 key, base64 value] (not UTF-8, not JSON, nested too deep, wrong types,
    invalid base64). It is left exactly as it is and aioble keeps using what it had before;
    move or repair the file, then call `load_secrets()` again.

    From `pair()` (and kept by `save_error()`), with `saving` True: a bond could not be
    written (missing or unwritable directory, read-only file, full disk). The file keeps its
    previous content; the bond was not stored, so the peers must pair again after a restart.
    """

    def __init__(self, path: str, problem: str, saving: bool = False) -> None:
        if saving:
            message = (
                f"secrets file {path!r} could not be written ({problem}): the bond is not "
                "saved and the file keeps its previous content"
            )
        else:
            message = (
                f"secrets file {path!r} cannot be used ({problem}); it was left unchanged: "
                "repair or move it and call load_secrets() again"
            )
        super().__init__(message)
        self.path = path
        self.saving = saving


class PasskeyRequest:
    """What pairing needs a person for, handed to the passkey handler.

    ===========================  =====================================  =====================
    `action`                     the person...                          handler returns
    ===========================  =====================================  =====================
    PASSKEY_DISPLAY (3)          reads `passkey` here, types it on the  None (or another int
                                 peer                                   passkey to use)
    PASSKEY_INPUT (2)            types here the passkey the peer shows  the passkey (int);
                                                                        None gives up
    PASSKEY_NUMERIC_COMPARISON   checks both sides show `passkey`       True to accept; False
    (4)                                                                 or None rejects
    ===========================  =====================================  =====================

    `passkey` is a 6-digit number (print it with `"{:06d}".format(...)`): for DISPLAY a fresh
    random one chosen by aioble, for NUMERIC_COMPARISON the number to compare, for INPUT None.
    If the pairing ends (or the link drops) while the handler is still waiting for the person,
    the handler's task is cancelled.
    """

    def __init__(self, connection: DeviceConnection, action: int, passkey: "int | None") -> None:
        self.connection = connection
        self.action = action
        self.passkey = passkey
        # Set (IRQ thread) when the pairing ended or the link dropped: nobody needs an answer.
        self._finished = False

    def __repr__(self) -> str:
        name = {
            PASSKEY_INPUT: "INPUT",
            PASSKEY_DISPLAY: "DISPLAY",
            PASSKEY_NUMERIC_COMPARISON: "NUMERIC_COMPARISON",
        }.get(self.action, str(self.action))
        shown = "" if self.passkey is None else f" {self.passkey:06d}"
        return f"<PasskeyRequest {name}{shown} {self.connection}>"


class _Pairing:
    """A `pair()` in progress on a connection."""

    __slots__ = ("flag", "handler", "updated", "requests", "rejected")

    def __init__(self, handler: "PasskeyHandler | None") -> None:
        self.flag = ThreadSafeFlag()
        self.handler = handler
        self.updated = False
        # PasskeyRequests for this pairing, to be answered by pair()'s own loop.
        self.requests: deque = deque((), 8)
        # Why pair() fails, if our side refused (a handler said no or failed).
        self.rejected: str | None = None

    def is_done(self) -> bool:
        return self.updated


class _SecurityState:
    def __init__(self, radio: Radio) -> None:
        # (sec_type, key) -> value: the stack's secrets, in the order they were stored.
        self.secrets: dict = {}
        # Where they are saved (None: in memory only, until load_secrets()).
        self.path: str | None = None
        # The default passkey handler, and the task serving requests with it.
        self.handler: PasskeyHandler | None = None
        self.server: Any = None
        # PasskeyRequests for the server, and its wake-up flag.
        self.requests: deque = deque((), 16)
        self.flag = ThreadSafeFlag()
        # The last failed write of the file (None once one succeeds), and how many failed:
        # pair() compares the count across its pairing to tell whether its bond was lost.
        self.save_error: SecretsFileError | None = None
        self.save_failures = 0


def _security(r: Radio) -> _SecurityState:
    return r.role_state("security", _SecurityState)


# --- the secrets file --------------------------------------------------------------------------


def load_secrets(path: "str | None" = None) -> None:
    """Load the current radio's bonds from the JSON secrets file `path` and save every later
    change there (default: the last path given, else "ble_secrets.json" in the working
    directory).

    A file that does not exist yet is an empty one (it is created, mode 0600, when the first
    bond is stored). Raises `SecretsFileError` if the file exists but cannot be used; it is
    then left untouched and nothing changes. Call it before pairing, at start-up: bonds the
    stack stored before then are replaced by the file's. Without it, bonds are kept in memory
    only (they survive `aioble.stop()`, not the process).

    A symlinked `path` is followed: its target is rewritten and the link stays. A read-only
    file is never replaced. A bond that cannot be written is not stored: `pair()` raises
    `SecretsFileError` (see `save_error()` for pairings the peer started)."""
    state = _security(radio())
    path = str(path or state.path or _DEFAULT_PATH)
    secrets = _read_secrets(path)
    state.secrets = secrets
    state.path = path
    state.save_error = None


def save_error() -> "SecretsFileError | None":
    """The `SecretsFileError` of the current radio's last write of the secrets file that
    failed, or None if none failed since the last one that succeeded (or since
    `load_secrets()`). `pair()` raises it itself; this is for bonds made by pairings the peer
    started (as a peripheral, say): check it once the connection is `bonded`."""
    return _security(radio()).save_error


def _read_secrets(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        if _missing(e):
            return {}
        raise SecretsFileError(path, f"cannot read it: {e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeError:
        raise SecretsFileError(path, "not UTF-8 text") from None
    try:
        entries = json.loads(text)
    except ValueError as e:
        raise SecretsFileError(path, f"not JSON: {e}") from None
    except RuntimeError:  # RecursionError on CPython; a board's recursion limit is RuntimeError
        raise SecretsFileError(path, "not JSON: nested too deep") from None
    if not isinstance(entries, list):
        raise SecretsFileError(path, "not a JSON list")
    secrets = {}
    for i, entry in enumerate(entries):
        if (
            not isinstance(entry, list)
            or len(entry) != 3
            or not isinstance(entry[0], int)
            or isinstance(entry[0], bool)
            or entry[0] < 0
            or not isinstance(entry[1], str)
            or not isinstance(entry[2], str)
        ):
            raise SecretsFileError(
                path, f"entry {i} is not [sec_type, key, value] (an int and two base64 strings)"
            )
        key = _b64decode(entry[1])
        value = _b64decode(entry[2])
        if key is None or value is None:
            raise SecretsFileError(path, f"entry {i} is not base64")
        secrets[(entry[0], key)] = value
    return secrets


_B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def _b64decode(text: str) -> "bytes | None":
    """The bytes of base64 `text` (a trailing newline allowed, as the reference library writes
    it), or None if it is not base64. CPython's a2b_base64 skips characters outside the
    alphabet, so a corrupt value would load as other bytes: they are refused here first."""
    text = text.rstrip("\n")
    for c in text:  # (str in str: a board's bytes does not look up ints)
        if c not in _B64_CHARS:
            return None
    try:
        return binascii.a2b_base64(text.encode())
    except (ValueError, TypeError):  # binascii.Error is a ValueError; a board raises either
        return None


def _missing(e: OSError) -> bool:
    return e.args[0] == 2 if e.args else False  # ENOENT (MicroPython has no FileNotFoundError)


def _save(state: _SecurityState) -> "SecretsFileError | None":
    """Write the secrets to the file, atomically; returns the error if that failed."""
    path = state.path
    if path is None:
        return None
    entries = [
        [sec_type, _b64(key), _b64(value)] for (sec_type, key), value in state.secrets.items()
    ]
    text = json.dumps(entries)
    # Through a symlink, the target is replaced: renaming onto the link itself would turn it
    # into a regular file and leave the target stale.
    target = _resolve(path)
    temp = target + ".tmp"
    try:
        _check_writable(target)
        _write_private(temp, text)
        os.rename(temp, target)
        _sync_directory(target)
    except OSError as e:
        try:
            os.remove(temp)
        except OSError:
            pass
        problem = str(e) or repr(e)
        if target != path:
            problem = f"writing its target {target!r}: {problem}"
        return SecretsFileError(path, problem, saving=True)
    return None


def _resolve(path: str) -> str:
    # A board has no os.path and no symlinks. Only a link at `path` itself matters: a rename
    # inside a linked directory lands in the right place.
    os_path = getattr(os, "path", None)
    if os_path is None or not os_path.islink(path):
        return path
    return os_path.realpath(path)


def _check_writable(path: str) -> None:
    """Refuse to replace a file its owner made read-only: the rename would succeed anyway
    (it needs only the directory), silently undoing the owner's choice."""
    if getattr(os, "chmod", None) is None:
        return  # a board's filesystem has no permission bits (its stat mode shows none)
    try:
        mode = os.stat(path)[0]
    except OSError:
        return  # no file yet
    if not mode & 0o200:
        raise OSError(13, "the file is read-only (not replaced)")  # EACCES


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data).decode().strip()


def _write_private(path: str, text: str) -> None:
    """Write `text` to a new file `path`, readable and writable by its owner only, and make
    it durable before it is renamed over the old one."""
    try:
        os.remove(path)  # a stale temp file would keep its old mode
    except OSError:
        pass
    opener = getattr(os, "open", None)
    if opener is None:  # MicroPython: no modes, no fsync
        with open(path, "w") as f:
            f.write(text)
        return
    fd = opener(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _sync_directory(path: str) -> None:
    # The rename is durable once the directory is (POSIX); elsewhere there is nothing to do.
    if getattr(os, "O_DIRECTORY", None) is None:
        return
    directory = path.rsplit("/", 1)[0] if "/" in path else "."
    fd = os.open(directory or "/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _get_secret_irq(r: Radio, event: int, data: "Any") -> "bytes | None":
    sec_type, index, key = data
    secrets = _security(r).secrets
    if key is None:
        # The index'th secret of this type.
        i = 0
        for (t, _), value in secrets.items():
            if t == sec_type:
                if i == index:
                    return value
                i += 1
        return None
    return secrets.get((sec_type, bytes(key)))


def _set_secret_irq(r: Radio, event: int, data: "Any") -> bool:
    sec_type, key, value = data
    state = _security(r)
    key = (sec_type, bytes(key))
    previous = dict(state.secrets)
    if value is None:
        if key not in state.secrets:
            return False
        del state.secrets[key]
    else:
        state.secrets[key] = bytes(value)
    error = _save(state)
    if error is not None:
        # Not stored: memory goes back to what the file holds, and the stack is told so.
        state.secrets = previous
        state.save_error = error
        state.save_failures += 1
        log_error(error)
        return False
    if state.path is not None:
        state.save_error = None
    return True


# --- pairing -----------------------------------------------------------------------------------


# Use connection.pair() rather than calling this directly.
async def pair(
    connection: DeviceConnection,
    bond: bool = True,
    le_secure: bool = True,
    mitm: bool = False,
    io: int = IO_NO_INPUT_OUTPUT,
    timeout_ms: "int | None" = 20000,
    passkey: "PasskeyHandler | None" = None,
) -> None:
    """Pair with the peer (as central; as peripheral, ask the central to) and await the
    outcome, or re-encrypt the link if we are bonded with the peer.

    `bond`, `le_secure`, `mitm` and `io` configure this radio (`aioble.config`) for this and
    later pairings; the peer's own configuration must allow them too. `passkey` answers the
    passkey prompts of this pairing (else the handler set by `passkey_handler()`); see
    `PasskeyRequest`.

    Returns once the link is encrypted (and authenticated, if `mitm`); at once if it already
    is (an encrypted link is not paired again). Raises `PairingError`
    if it is not (wrong passkey, number rejected, peer refused), `asyncio.TimeoutError` after
    `timeout_ms` (the link stays up), `DeviceDisconnectedError` if the link is or goes down
    (or `aioble.stop()`). One pairing at a time per connection: a second call waits for the
    first to end.

    Raises `SecretsFileError` (`saving` True, `path` the file) when the pairing succeeded but
    its bond could not be written to the secrets file (`load_secrets()`): the link is
    encrypted and usable, but the bond was not stored, so after a restart the peers must pair
    again. `TypeError` / `ValueError` name a bad argument."""
    _check_connection(connection)
    if passkey is not None and not callable(passkey):
        raise TypeError(f"passkey must be a function or None, not {type(passkey).__name__}")
    if io not in (0, 1, 2, 3, 4):
        raise ValueError(f"io must be one of the IO_* capabilities (0 to 4), not {io!r}")
    connection._check_connected()
    lock = connection._pair_lock
    if lock is None:
        lock = connection._pair_lock = asyncio.Lock()
    async with lock:
        connection._check_connected()
        ble = connection._radio.ble
        ble.config(bond=bond, le_secure=le_secure, mitm=mitm, io=io)
        if connection.encrypted:
            # Nothing to do, or nothing the stack can do: an encrypted link is not paired
            # again (its keys would not change until it reconnects).
            _check_outcome(connection, mitm, None)
            return
        pairing = connection._pairing = _Pairing(passkey)
        running: list = []  # (request, task) of its prompts' handlers
        state = _security(connection._radio)
        failures = state.save_failures
        try:
            connection._call(ble.gap_pair)
            await connection._wait(
                pairing.flag, lambda: _serve_pairing(pairing, running), timeout_ms
            )
        finally:
            if connection._pairing is pairing:
                connection._pairing = None
            for _, task in running:
                task.cancel()
    _check_outcome(connection, mitm, pairing.rejected)
    # The stack stores the bond (SET_SECRET) before it reports the pairing's outcome.
    if bond and state.save_failures != failures and state.save_error is not None:
        raise state.save_error


def _check_outcome(connection: DeviceConnection, mitm: bool, rejected: "str | None") -> None:
    if not connection.is_connected():
        raise DeviceDisconnectedError
    if not connection.encrypted:
        raise PairingError(rejected or "pairing failed: the link is not encrypted")
    if mitm and not connection.authenticated:
        raise PairingError(
            "the link is encrypted but not authenticated (MITM protection was asked for; "
            "the IO capabilities, or an existing unauthenticated bond, allowed only Just Works)"
        )


def _serve_pairing(pairing: _Pairing, running: list) -> bool:
    # pair()'s wait condition; also starts the handler of each prompt that arrived.
    while pairing.requests:
        request = pairing.requests.popleft()
        handler = pairing.handler or _security(request.connection._radio).handler
        running.append((request, asyncio.create_task(_answer(request, handler, pairing))))
    return pairing.updated


async def _answer(
    request: PasskeyRequest, handler: "PasskeyHandler | None", pairing: "_Pairing | None"
) -> None:
    """Run the handler for `request` and give the stack its answer."""
    result = None
    failed = False
    if handler is not None:
        try:
            result = handler(request)
            if hasattr(result, "send"):  # a coroutine (no inspect module on a board)
                result = await result
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log_error("passkey handler raised", repr(e))
            failed = True
    if request._finished:
        return
    connection = request.connection
    handle = connection._conn_handle
    if handle is None:
        return
    action = request.action
    if action == PASSKEY_DISPLAY:
        if handler is None:
            log_warn("no passkey handler: nobody was shown the passkey")
        answer = result if _is_passkey(result) else request.passkey
    elif action == PASSKEY_INPUT:
        if failed or not _is_passkey(result):
            # The stack has no way to refuse here: the pairing fails when SMP times out.
            log_warn("no passkey was entered; the pairing will time out")
            _rejected(pairing, "no passkey was entered")
            return
        answer = result
    elif action == PASSKEY_NUMERIC_COMPARISON:
        answer = 1 if (result is True or (_is_passkey(result) and result)) and not failed else 0
        if not answer:
            _rejected(pairing, "the numeric comparison was rejected here")
    else:
        log_warn("unknown passkey action", action)
        return
    try:
        connection._radio.ble.gap_passkey(handle, action, answer)
    except OSError as e:
        log_warn("passkey answer not taken:", e)  # the pairing ended meanwhile


def _is_passkey(value: "Any") -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 999999


def _rejected(pairing: "_Pairing | None", why: str) -> None:
    if pairing is not None:
        pairing.rejected = why


def passkey_handler(handler: "PasskeyHandler | None") -> None:
    """Set the current radio's passkey handler: `handler(request)` (a function or a coroutine
    function) is called with a `PasskeyRequest` whenever a pairing on any of its connections
    needs a person, including pairings the peer starts; its return value is the answer (see
    `PasskeyRequest`). `pair(..., passkey=...)` overrides it for one pairing. None removes it
    (a passkey to display is then not shown, a number to compare is rejected, a passkey to
    enter is never given). It may be called before the event loop runs::

        async def on_passkey(request):
            if request.action == security.PASSKEY_DISPLAY:
                print("Type {:06d} on the other device".format(request.passkey))
            elif request.action == security.PASSKEY_INPUT:
                return int(await read_keypad())
            elif request.action == security.PASSKEY_NUMERIC_COMPARISON:
                return await ask_yes_no("Does it show {:06d}?".format(request.passkey))

        security.passkey_handler(on_passkey)
    """
    if handler is not None and not callable(handler):
        raise TypeError(f"handler must be a function or None, not {type(handler).__name__}")
    r = radio()
    state = _security(r)
    state.handler = handler
    if handler is not None:
        _start_server(r)


def _start_server(r: Radio) -> None:
    state = _security(r)
    if state.handler is None or (state.server is not None and not state.server.done()):
        return
    running = getattr(asyncio, "get_running_loop", None)
    if running is not None:  # CPython: a task needs a running loop; the next aioble call
        try:  # from a coroutine starts it (core's loop handlers)
            running()
        except RuntimeError:
            return
    state.server = asyncio.create_task(_serve(state))


async def _serve(state: _SecurityState) -> None:
    # Answers the prompts of pairings no pair() call waits on (the peer started them).
    running: list = []  # (request, task)
    while True:
        while state.requests:
            request = state.requests.popleft()
            running.append((request, asyncio.create_task(_answer(request, state.handler, None))))
        _reap(running)
        await state.flag.wait()


def _reap(running: list) -> None:
    """Forget finished handler tasks; cancel those whose pairing ended without them."""
    for entry in list(running):
        request, task = entry
        if task.done():
            running.remove(entry)
        elif request._finished:
            task.cancel()
            running.remove(entry)


def _passkey_irq(r: Radio, event: int, data: "Any") -> None:
    conn_handle, action, passkey = data
    connection = r.connections.get(conn_handle)
    if connection is None:
        return
    if action == PASSKEY_DISPLAY:
        passkey = _random_passkey()
    elif action != PASSKEY_NUMERIC_COMPARISON:
        passkey = None
    request = PasskeyRequest(connection, action, passkey)
    if not connection._passkey_requests:
        if _finish_requests not in connection._disconnect_handlers:
            connection._disconnect_handlers.append(_finish_requests)
    connection._passkey_requests.append(request)
    pairing = connection._pairing
    if pairing is not None:
        pairing.requests.append(request)
        pairing.flag.set()
        return
    state = _security(r)
    if state.handler is None or state.server is None or state.server.done():
        # (A handler set outside the event loop is served from the next aioble call made
        # inside it: advertise(), connect(), scan(), config().)
        log_warn("passkey request with no passkey handler running:", request)
        if action == PASSKEY_NUMERIC_COMPARISON:
            _answer_now(connection, action, 0)
        elif action == PASSKEY_DISPLAY:
            _answer_now(connection, action, passkey)
        return
    state.requests.append(request)
    state.flag.set()


def _answer_now(connection: DeviceConnection, action: int, value: int) -> None:
    try:
        connection._radio.ble.gap_passkey(connection._conn_handle, action, value)
    except OSError as e:
        log_warn("passkey answer not taken:", e)


def _random_passkey() -> int:
    # A uniformly random 6-digit passkey (rejection sampling over 20 random bits).
    while True:
        value = int.from_bytes(_urandom(3), "little") & 0xFFFFF
        if value < 1000000:
            return value


def _urandom(n: int) -> bytes:
    urandom = getattr(os, "urandom", None)
    if urandom is not None:
        return urandom(n)
    import random  # a board without os.urandom

    return bytes(random.getrandbits(8) for _ in range(n))


def _encryption_irq(r: Radio, event: int, data: "Any") -> None:
    conn_handle, encrypted, authenticated, bonded, key_size = data
    connection = r.connections.get(conn_handle)
    if connection is None:
        return
    connection.encrypted = bool(encrypted)
    connection.authenticated = bool(authenticated)
    connection.bonded = bool(bonded)
    connection.key_size = key_size
    # The pairing is over: no prompt of it needs an answer any more.
    _finish_requests(connection)
    pairing = connection._pairing
    if pairing is not None:
        pairing.updated = True
        pairing.flag.set()


def _finish_requests(connection: DeviceConnection) -> None:
    requests = connection._passkey_requests
    if not requests:
        return
    for request in requests:
        request._finished = True
    requests.clear()
    state = connection._radio.roles.get("security")
    if state is not None:
        state.flag.set()


def _stop(r: Radio) -> None:
    # Bonds stay (in memory, and in the file); connections' prompts ended with their links.
    state = r.roles.get("security")
    if state is not None:
        requests = state.requests
        while requests:  # (a board's deque has no clear())
            requests.popleft()


register_irq_handler((_IRQ_ENCRYPTION_UPDATE,), _encryption_irq)
register_irq_handler((_IRQ_GET_SECRET,), _get_secret_irq)
register_irq_handler((_IRQ_SET_SECRET,), _set_secret_irq)
register_irq_handler((_IRQ_PASSKEY_ACTION,), _passkey_irq)
register_stop_handler(_stop)
register_loop_handler(_start_server)

__all__ = [
    "IO_DISPLAY_ONLY",
    "IO_DISPLAY_YESNO",
    "IO_KEYBOARD_DISPLAY",
    "IO_KEYBOARD_ONLY",
    "IO_NO_INPUT_OUTPUT",
    "PASSKEY_DISPLAY",
    "PASSKEY_INPUT",
    "PASSKEY_NUMERIC_COMPARISON",
    "PairingError",
    "PasskeyRequest",
    "SecretsFileError",
    "load_secrets",
    "pair",
    "passkey_handler",
    "save_error",
]
