"""Starting and stopping the local stack's background processes, with nothing left behind.

Each process runs in its own session (process group) with its output in a log file, and is
stopped with SIGTERM then SIGKILL to the whole group. A state file records what was started so
`... down` in another shell can stop it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from netguard.errors import NetguardError


class StartupError(NetguardError):
    """A local component did not become ready; the message ends with the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Managed:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def start(
    name: str,
    argv: Sequence[str],
    *,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    die_with_parent: bool = False,
) -> Managed:
    """Start `argv` in its own session. `die_with_parent` (Linux): the kernel kills it with SIGKILL
    when the starting process dies, so a killed test session leaves no orphan behind."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_set_parent_death_signal if die_with_parent else None,  # noqa: PLW1509 -- prctl only
        )
    return Managed(name, process, log_path)


def start_ready(
    name: str,
    argv: Sequence[str],
    *,
    ready_url: str,
    log_dir: Path,
    timeout: float,
    die_with_parent: bool = False,
) -> Managed:
    """`start`, then wait until `ready_url` answers 2xx; a component that never gets ready is stopped
    before the error (with its log tail) is raised, so a failed start leaves nothing behind."""
    managed = start(name, argv, log_dir=log_dir, die_with_parent=die_with_parent)
    try:
        wait_until(lambda: http_ok(ready_url), what=name, managed=managed, timeout=timeout)
    except StartupError:
        stop(managed)
        raise
    return managed


def _set_parent_death_signal() -> None:
    """In the child, before exec: ask for SIGKILL when the parent exits (prctl PR_SET_PDEATHSIG)."""
    import ctypes  # noqa: PLC0415 -- only needed in the forked child

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def stop_pid(pid: int, *, grace_seconds: float = 5.0) -> None:
    """Stop a process group started by `start` (also from another shell, by pid)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)


def stop(managed: Managed, *, grace_seconds: float = 5.0) -> None:
    stop_pid(managed.pid, grace_seconds=grace_seconds)
    with contextlib.suppress(subprocess.TimeoutExpired):
        managed.process.wait(timeout=grace_seconds)


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass  # not our child (a `down` from another shell): fall back to signal 0
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Exited but not yet reaped by its (new) parent: it holds no ports or files any more."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    managed: Managed | None = None,
    timeout: float = 60.0,
    interval: float = 0.2,
) -> None:
    """Poll `check` until it is true; fail with the component's log tail if it died or timed out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if managed is not None and managed.process.poll() is not None:
            raise StartupError(
                f"{what}: process exited with {managed.process.returncode}\n{managed.log_tail()}"
            )
        with contextlib.suppress(Exception):  # any failure of a readiness probe means "not yet"
            if check():
                return
        time.sleep(interval)
    tail = managed.log_tail() if managed else ""
    raise StartupError(f"{what}: not ready after {timeout:.0f}s\n{tail}")


def http_ok(url: str, *, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 -- loopback URLs only
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError):
        return False


def write_state(path: Path, managed: Sequence[Managed], extra: Mapping[str, object] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pids": {m.name: m.pid for m in managed}, **(extra or {})}, indent=2))


def stop_from_state(path: Path) -> list[str]:
    """Stop every process a state file lists, newest first; returns their names."""
    if not path.is_file():
        return []
    state = json.loads(path.read_text())
    names = list(state.get("pids", {}))
    for name in reversed(names):
        stop_pid(int(state["pids"][name]))
    path.unlink()
    return names
