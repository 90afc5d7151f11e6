"""Hostile: writes outside its work dir: a host path (filled in by the test), the folder above the work
dir, and /etc. Expect a candidate_error, and none of those files on the host."""
load = [__import__][0]
os = load("os")
TARGETS = ["__OUTSIDE__", os.path.join(os.getcwd(), "..", "archlab-escaped"), "/etc/archlab-escaped"]


def build_model(task):
    wrote, refused = [], []
    for path in TARGETS:
        try:
            with [open][0](path, "w") as f:
                f.write("escaped")
            wrote.append(path)
        except OSError as exc:
            refused.append(f"{path}: {exc.strerror}")
    raise RuntimeError(f"wrote {wrote}; refused {refused}")
