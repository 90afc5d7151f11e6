"""Draining a child's stdout/stderr into a bounded tail.

A thread reads the pipe to its end, so a child printing gigabytes never blocks on a full pipe,
and only the last `cap` bytes are kept, so it never fills our memory or disk either.
"""

from __future__ import annotations

import os
import threading
from typing import BinaryIO

CHUNK = 65536


class TailReader:
    def __init__(self, stream: BinaryIO, cap: int) -> None:
        self._stream = stream
        self._fd = stream.fileno()
        self._cap = cap
        self._tail = bytearray()
        self.total = 0
        # Daemon: a grandchild that escaped the process group may hold the pipe open forever.
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            while chunk := os.read(self._fd, CHUNK):
                self.total += len(chunk)
                self._tail += chunk
                if len(self._tail) > self._cap:
                    del self._tail[: len(self._tail) - self._cap]
        except OSError:  # the pipe broke; what was read so far is the tail
            pass

    def finish(self, timeout: float = 1.0) -> str:
        """The tail as text, once the writer is gone (or after timeout, if something still holds it)."""
        # Never close the pipe under a blocked reader: its fd number could be reused by another file.
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._stream.close()
        text = bytes(self._tail).decode("utf-8", errors="replace")
        if self.total <= self._cap:
            return text
        marker = f"[... {self.total - len(self._tail)} bytes cut ...]\n"
        return marker + text[len(marker):]  # still within cap
