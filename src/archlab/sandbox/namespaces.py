"""Which namespace isolation this machine allows the process sandbox, found once by a real probe.

The worker is started through util-linux `unshare` with new network, mount and PID namespaces (and a
user namespace when we are not root). In there it cannot reach any network, not even the host's
loopback; it cannot see or signal host processes (its parent shows as pid 0); when it exits, the
kernel kills everything it left behind. `confine.py` then makes the filesystem read-only but for the
work dir and drops every capability. The probe runs exactly that on an empty dir and checks each
protection; if any step fails, jobs run without namespaces and `describe()` says why.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

CONFINE_SCRIPT = Path(__file__).with_name("confine.py")
PROTECTIONS = ("network", "filesystem", "tmp_hidden", "capabilities", "host_pids_hidden")


@dataclass(frozen=True)
class Namespaces:
    prefix: tuple[str, ...] = ()  # argv before the worker's: empty when unavailable
    reason: str = ""  # why not, when unavailable
    held: dict[str, bool] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.prefix)


def unshare_argv() -> tuple[str, ...] | None:
    exe = shutil.which("unshare")
    if exe is None:
        return None
    argv = [exe, "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]
    if os.geteuid() != 0:
        argv += ["--user", "--map-root-user"]  # unprivileged user namespaces, where the kernel allows them
    return (*argv, "--")


@functools.cache
def detect() -> Namespaces:
    """Probe once per process (about 0.2 s): start the confinement for real and test each protection."""
    argv = unshare_argv()
    if argv is None:
        return Namespaces(reason="util-linux `unshare` not found")
    with tempfile.TemporaryDirectory(prefix="archlab-probe-") as tmp:
        try:
            proc = subprocess.run([*argv, sys.executable, "-I", str(CONFINE_SCRIPT), tmp], capture_output=True,
                                  text=True, timeout=30, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Namespaces(reason=f"unshare could not run: {exc}")
    try:
        held = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return Namespaces(reason=_first_line(proc.stderr) or f"unshare exited with code {proc.returncode}")
    if "error" in held:
        return Namespaces(reason=f"confinement failed: {held['error']}")
    missing = [name for name in PROTECTIONS if not held.get(name)]
    if missing:
        return Namespaces(reason=f"confinement did not hold: {', '.join(missing)}", held=held)
    return Namespaces(prefix=argv, held=held)


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
