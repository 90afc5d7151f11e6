"""Reading process groups from Linux /proc: who is in a group, how much memory it holds.

rlimits act per process, so a job that forks escapes a per-process memory cap; the process
sandbox's watchdog uses these to see the whole group.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (which may itself hold spaces and ')')."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:  # gone between listing and reading
        return None
    return text[text.rfind(")") + 2:].split()


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is pgid."""
    members = []
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        # fields[0] is the state, fields[2] the process group (stat fields 3 and 5).
        if fields and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def is_alive(pid: int) -> bool:
    """Whether pid exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def memory_kb(pid: int) -> int:
    """Proportional set size of pid: shared pages split among sharers, so a group's sum is honest.

    A forked child shares its parent's pages; summing RSS would count them once per child.
    Falls back to RSS where smaps_rollup is missing.
    """
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    fields = _stat_fields(pid)
    return int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024 if fields else 0


def high_water_kb(pid: int) -> int:
    """VmHWM: the most resident memory pid has had since its last exec (0 when unreadable). Unlike the
    ru_maxrss that wait4 returns, it does not start at the RSS of the host the worker was forked from."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def group_memory_kb(members: list[int]) -> int:
    return sum(memory_kb(pid) for pid in members)


def user_tasks(uid: int) -> int:
    """Tasks (threads) this uid runs now: what RLIMIT_NPROC counts against."""
    count = 0
    for entry in os.scandir(PROC):
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                count += len(os.listdir(PROC / entry.name / "task"))
        except OSError:
            continue
    return count


def procfs_available() -> bool:
    return (PROC / "self" / "stat").exists()


WORKER = "archlab.sandbox.worker"


def orphaned_jobs() -> list[tuple[int, str]]:
    """(pid, command) of sandbox jobs of this user whose starter is gone: the job's top process (the worker,
    or the `unshare` around it) reparented to init. A job whose starter lives is never among them."""
    found = []
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        fields = _stat_fields(pid)
        try:
            cmdline = (PROC / entry.name / "cmdline").read_bytes().split(b"\0")
            owner = (PROC / entry.name).stat().st_uid
        except OSError:
            continue
        command = " ".join(part.decode(errors="replace") for part in cmdline if part)
        if fields and fields[0] != "Z" and int(fields[1]) == 1 and WORKER in command and owner == os.getuid():
            found.append((pid, command))
    return found


def kill_orphans() -> int:
    """SIGKILL every orphaned job's process group (its namespace goes with it); how many jobs."""
    orphans = orphaned_jobs()
    for pid, _ in orphans:
        try:
            os.killpg(os.getpgid(pid), 9)
        except OSError:  # gone meanwhile
            pass
    return len(orphans)
