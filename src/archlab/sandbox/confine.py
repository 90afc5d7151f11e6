"""Confining the process sandbox's worker before it imports the candidate (Linux, standard library only).

The host starts the worker through util-linux `unshare` with new network, mount and PID namespaces
(see `process.Namespaces`); inside them, `confine(workdir)` then

- makes every mount read-only and nosuid, so the candidate can write nowhere but its work dir;
- puts empty read-only tmpfs over /tmp, /run and /dev/shm, hiding other programs' files and the
  Unix sockets of daemons (a Docker socket there would hand out the host), and binds the work dir
  back on top, writable;
- drops every capability, for good (bounding set, ambient set, no_new_privs), so a candidate running
  as root can neither undo the mounts nor reach back into the host's namespaces.

Run as a script (`python confine.py WORKDIR`) it confines itself and prints what holds, as JSON:
the host's probe of what this machine allows.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import socket
import sys
from pathlib import Path

# Syscall numbers of the mount API (Linux 5.2 / 5.12): the same on x86_64 and arm64.
SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_MOUNT_SETATTR = 428, 429, 442
AT_FDCWD, AT_EMPTY_PATH, AT_RECURSIVE = -100, 0x1000, 0x8000
OPEN_TREE_CLONE, MOVE_MOUNT_F_EMPTY_PATH = 1, 0x4
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID = 0x1, 0x2
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAP_VERSION_3 = 0x20080522
HIDDEN = ("/tmp", "/run", "/dev/shm")  # emptied: scratch space and daemon sockets live there

_libc = ctypes.CDLL(None, use_errno=True)


class ConfineError(OSError):
    """A confinement step failed; the worker reports it as the sandbox's fault."""


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise ConfineError(err, f"{what}: {os.strerror(err)}")
    return result


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = (lambda s: s.encode() if s is not None else None)  # noqa: E731 - ctypes wants bytes or NULL
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def _set_attr(path: str, attr_set: int, recursive: bool) -> None:
    attr = _MountAttr(attr_set=attr_set)
    flags = AT_RECURSIVE if recursive else 0
    _check(_libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), flags, ctypes.byref(attr),
                         ctypes.sizeof(attr)), f"mount_setattr {path}")


def _detach_copy(path: str) -> int:
    """A detached copy of the mount at path, to attach again once what covers it is in place."""
    flags = OPEN_TREE_CLONE | AT_RECURSIVE | os.O_CLOEXEC
    return _check(_libc.syscall(SYS_OPEN_TREE, AT_FDCWD, path.encode(), flags), f"open_tree {path}")


def _attach(tree_fd: int, path: str) -> None:
    _check(_libc.syscall(SYS_MOVE_MOUNT, tree_fd, b"", AT_FDCWD, path.encode(), MOVE_MOUNT_F_EMPTY_PATH),
           f"move_mount {path}")
    os.close(tree_fd)


def confine(workdir: Path) -> None:
    """Read-only everything but workdir, hide /tmp, /run, /dev/shm, drop all capabilities.

    Must run in a mount namespace of its own (changes must not reach the host's mounts).
    """
    work = str(workdir.resolve())
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    tree = _detach_copy(work)
    _set_attr("/", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, recursive=True)
    for hidden in HIDDEN:
        if os.path.isdir(hidden) and not os.path.islink(hidden):
            _mount("tmpfs", hidden, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
            if work.startswith(hidden + "/"):
                os.makedirs(work, exist_ok=True)
            _set_attr(hidden, MOUNT_ATTR_RDONLY, recursive=False)
    _attach(tree, work)
    os.chdir(work)  # the old cwd still points into the read-only mount below the new one
    drop_privileges()


def drop_privileges() -> None:
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    for cap in range(_last_cap() + 1):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 and ctypes.get_errno() not in (errno.EINVAL,):
            _check(-1, f"drop capability {cap} from the bounding set")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # EINVAL on kernels before 4.3: nothing to clear
    header = (ctypes.c_uint32 * 2)(CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable for caps 0-31, then 32-63: all zero
    _check(_libc.capset(header, data), "capset")
    # A change of credentials clears the parent-death signal that `unshare --kill-child` set; set it again.
    _libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)


def _last_cap() -> int:
    try:
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        return 40


def probe(workdir: Path) -> dict[str, object]:
    """Confine this process, then try what a candidate would; what was refused is what holds."""
    confine(workdir)
    return {
        "network": _refused(lambda: socket.create_connection(("127.0.0.1", 9), timeout=1)),
        "filesystem": _refused(lambda: open("/etc/archlab-probe", "w")) and _writes(workdir / "probe"),  # noqa: SIM115
        "tmp_hidden": len(list(Path("/tmp").iterdir())) <= 1,  # at most the way to the work dir
        "capabilities": _capabilities_empty(),
        "host_pids_hidden": os.getppid() == 0,
    }


def _refused(attempt) -> bool:
    try:
        attempt()
    except OSError:
        return True
    return False


def _writes(path: Path) -> bool:
    try:
        path.write_text("ok")
        path.unlink()
    except OSError:
        return False
    return True


def _capabilities_empty() -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("CapEff:", "CapPrm:", "CapBnd:")) and int(line.split()[1], 16) != 0:
            return False
    return True


if __name__ == "__main__":
    try:
        print(json.dumps(probe(Path(sys.argv[1]))))
    except OSError as exc:
        print(json.dumps({"error": str(exc)}))
