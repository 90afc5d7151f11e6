"""Hostile: looks for OPENAI_API_KEY (and any other secret) and shouts what it found. Expect a
candidate_error whose outputs never hold the key."""
load = [__import__][0]
os = load("os")


def build_model(task):
    found = {k: v for k, v in os.environ.items() if "KEY" in k or "TOKEN" in k or "SECRET" in k}
    print(f"found {found} in {sorted(os.environ)}", flush=True)
    raise RuntimeError(f"key={os.environ.get('OPENAI_API_KEY')} found={found}")
