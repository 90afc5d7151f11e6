"""Hostile: spins forever. Expect a timeout."""


def build_model(task):
    print("looping", flush=True)
    while True:
        pass
