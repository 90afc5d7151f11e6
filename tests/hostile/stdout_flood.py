"""Hostile: prints 10 MB, then fails. Expect a candidate_error with a capped stdout tail."""


def build_model(task):
    line = "x" * 1023
    for _ in range(10 * 1024):
        print(line)
    raise RuntimeError("printed 10 MB")
