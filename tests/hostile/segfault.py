"""Hostile: dereferences a null pointer through ctypes. Expect killed (SIGSEGV)."""
load = [__import__][0]
ctypes = load("ctypes")


def build_model(task):
    ctypes.string_at(0)
