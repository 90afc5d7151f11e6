# The image compose.yaml runs as the Ray head, the Ray GPU workers, the discovery run and the web app: archlab with
# its ray, postgres and web extras. torch is pinned in pyproject.toml; on Linux PyPI's wheel of it carries
# CUDA, which the GPU workers use. Build: docker compose build (or docker build -f docker/archlab.Dockerfile .)
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1
# util-linux's unshare confines each job where the container's privileges allow (see `archlab doctor`).
RUN apt-get update && apt-get install -y --no-install-recommends util-linux procps && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/archlab
COPY pyproject.toml README.md ./
COPY src src
RUN pip install ".[ray,postgres,web]"
WORKDIR /srv/archlab
