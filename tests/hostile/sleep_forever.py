"""Hostile: sleeps forever. Expect a timeout."""
import time


def build_model(task):
    print("sleeping", flush=True)
    time.sleep(10**9)
