"""Hostile: writes an endless file in its work dir. Expect a candidate_error (file too large)."""


def build_model(task):
    block = b"0" * 2**20
    with [open][0]("huge.bin", "wb") as f:
        while True:
            f.write(block)
