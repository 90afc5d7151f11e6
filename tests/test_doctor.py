"""`archlab doctor` against the real store and sandbox, and a real (closed or replaying) HTTP endpoint."""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def doctor(tmp_path, **env) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    full |= {"ARCHLAB_WORKSPACE": str(tmp_path / "ws"), "COLUMNS": "200", **env}
    return subprocess.run([sys.executable, "-m", "archlab", "doctor"], env=full, capture_output=True, text=True,
                          timeout=120)


def lines(result) -> dict[str, str]:
    return {line.split()[1]: line for line in result.stdout.splitlines() if line.strip()}


def test_healthy_offline_machine(tmp_path):
    result = doctor(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    found = lines(result)
    assert found["torch"].lstrip().startswith("ok") and "torch 2." in found["torch"]
    assert found["store"].lstrip().startswith("ok") and "archlab.db" in found["store"]
    assert found["vector_index"].lstrip().startswith("ok") and "faiss" in found["vector_index"]
    assert found["sandbox"].lstrip().startswith("ok") and "probe job ok" in found["sandbox"]
    assert found["llm"].lstrip().startswith("warn") and "offline mode" in found["llm"]


class Models(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        body = json.dumps({"object": "list", "data": [{"id": "scripted", "object": "model", "created": 0,
                                                        "owned_by": "test"}]}).encode()
        self.send_response(200 if self.path.endswith("/models") else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Models)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_reachable_llm_endpoint(tmp_path, endpoint):
    result = doctor(tmp_path, OPENAI_BASE_URL=endpoint, OPENAI_API_KEY="test-key")
    assert result.returncode == 0
    assert "1 models" in lines(result)["llm"]


def test_unreachable_llm_endpoint_fails(tmp_path):
    result = doctor(tmp_path, OPENAI_BASE_URL="http://127.0.0.1:9/v1", OPENAI_API_KEY="test-key")
    assert result.returncode == 1
    assert "FAIL" in lines(result)["llm"] and "APIConnectionError" in lines(result)["llm"]


def test_asking_for_pgvector_on_sqlite_is_reported(tmp_path):
    result = doctor(tmp_path, ARCHLAB_VECTOR_INDEX="pgvector")
    assert result.returncode != 0
    assert "no pgvector" in lines(result)["vector_index"]
