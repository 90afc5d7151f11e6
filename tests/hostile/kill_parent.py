"""Hostile: kills its parent process (the host, were it visible). Expect killed or candidate_error,
and the host alive."""
import time

load = [__import__][0]
os, signal = load("os"), load("signal")


def build_model(task):
    parent = os.getppid()
    print(f"killing parent {parent}", flush=True)
    os.kill(parent, signal.SIGKILL)
    time.sleep(2)
    raise RuntimeError(f"parent {parent} survived")
