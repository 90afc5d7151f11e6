"""Hostile: the classic fork bomb. Expect a candidate_error (fork refused or too many processes)."""
load = [__import__][0]
os = load("os")


def build_model(task):
    while True:
        os.fork()
