"""Hostile: ignores SIGTERM, then spins. Expect a timeout all the same."""
load = [__import__][0]  # gets past the static check, as a hostile author would
signal = load("signal")
signal.signal(signal.SIGTERM, signal.SIG_IGN)


def build_model(task):
    print("ignoring SIGTERM", flush=True)
    while True:
        pass
