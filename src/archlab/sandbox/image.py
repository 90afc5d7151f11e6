"""The Docker sandbox image: what goes in it, its tag, and how `archlab sandbox build-image` builds it.

Three images, each rebuilt only when what it holds changes:

    base   a Python base image (python:X.Y-slim) or, where no image registry is reachable, a Debian
           root filesystem made here with `debootstrap` and loaded with `docker import`;
    deps   base + the worker's third-party packages (torch, numpy, pydantic and what they need), pinned
           at the versions this interpreter has, installed here by pip into the build context;
    final  deps + the parts of archlab the worker runs (archlab.errors, sandbox, evaluator).

The final tag carries a hash of those sources, so a backend never runs stages older than the host's
code: after an edit, `build-image` rebuilds only the small final layer.
"""

from __future__ import annotations

import compileall
import hashlib
import importlib.metadata
import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import archlab
from archlab.errors import SandboxError

log = logging.getLogger(__name__)

REPO = "archlab-sandbox"
LABEL = "archlab.sandbox"  # on every image and container archlab makes; the sweep looks for it
WORKER_PACKAGES = ("torch", "numpy", "pydantic")
# What the worker imports, no more, as paths in the installed package (a folder: all of it): host-side modules
# (this one, the backends, the integrity check) stay out, so that editing them neither changes the image nor
# asks for a rebuild.
WORKER_SOURCES = ("__init__.py", "errors.py", "sandbox/__init__.py", "sandbox/base.py", "sandbox/worker.py",
                  "evaluator/")
SITE, APP = "/opt/archlab/site", "/opt/archlab/app"
SANDBOX_UID = 65534  # nobody
DEBIAN_SUITES = {(3, 11): "bookworm", (3, 13): "trixie"}  # the suite whose python3 matches ours
DEBIAN_PACKAGES = ("python3-minimal", f"libpython{sys.version_info[0]}.{sys.version_info[1]}-stdlib")
# Not needed to run a model: C++ headers and CMake files (60 MB).
TRIM = ("torch/include", "torch/share")

DEPS_DOCKERFILE = f"""ARG BASE
FROM ${{BASE}}
COPY site {SITE}
"""
FINAL_DOCKERFILE = f"""ARG DEPS
FROM ${{DEPS}}
COPY app {APP}
ENV PYTHONPATH={APP}:{SITE} PYTHONDONTWRITEBYTECODE=1 PYTHONNOUSERSITE=1 PYTHONUNBUFFERED=1
WORKDIR /work
USER {SANDBOX_UID}:{SANDBOX_UID}
"""

Say = Callable[[str], None]


def requirements() -> list[str]:
    """The worker's packages, pinned at this interpreter's versions (a CPU torch stays a CPU torch)."""
    try:
        return [f"{name}=={importlib.metadata.version(name)}" for name in WORKER_PACKAGES]
    except importlib.metadata.PackageNotFoundError as exc:
        raise SandboxError(f"cannot pin the sandbox image's packages: {exc} is not installed here") from exc


def source_files() -> dict[str, Path]:
    """Path inside the image's app folder -> the file of the installed archlab package it copies."""
    top = Path(archlab.__file__).parent
    found: dict[str, Path] = {}
    for name in WORKER_SOURCES:
        paths = [p for p in (top / name).rglob("*") if p.is_file() and "__pycache__" not in p.parts
                 and p.suffix != ".pyc"] if name.endswith("/") else [top / name]
        found |= {f"archlab/{p.relative_to(top)}": p for p in paths}
    return dict(sorted(found.items()))


def source_hash() -> str:
    digest = hashlib.sha256()
    for dest, path in source_files().items():
        digest.update(dest.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def image_tag() -> str:
    """The image the host's code expects: `archlab sandbox build-image` makes it."""
    return f"{REPO}:{archlab.__version__}-{source_hash()[:12]}"


def _hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def _exists(client: Any, ref: str) -> bool:
    import docker.errors

    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        return False
    return True


def build_image(client: Any, *, base: str, cache_dir: Path, say: Say = log.info) -> str:
    """Build whatever is missing; return the final tag. base: "auto", "debootstrap" or an image ref."""
    tag = image_tag()
    if _exists(client, tag):
        say(f"{tag} is up to date")
        return tag
    base_ref, make_base = plan_base(client, base, cache_dir, say)
    deps = build_deps(client, base_ref, make_base, cache_dir, say)
    with tempfile.TemporaryDirectory(prefix="archlab-app-") as tmp:
        ctx = Path(tmp)
        _stage_sources(ctx / "app")
        (ctx / "Dockerfile").write_text(FINAL_DOCKERFILE)
        _docker_build(client, ctx, tag, {"DEPS": deps}, say)
    say(f"built {tag}")
    return tag


def plan_base(client: Any, base: str, cache_dir: Path, say: Say) -> tuple[str, Callable[[], None] | None]:
    """The image ref to build on, and what makes it when it is still missing (None when it is there).
    "auto": the matching python:X.Y-slim, pulled if need be; failing that (no image registry
    reachable), a debootstrap base."""
    if base not in ("auto", "debootstrap"):
        _pull_if_missing(client, base)
        return base, None
    if base == "auto":
        python_image = "python:{}.{}-slim".format(*sys.version_info[:2])
        try:
            _pull_if_missing(client, python_image)
            return python_image, None
        except SandboxError as exc:
            say(f"no {python_image} ({exc}); making a Debian base with debootstrap instead")
    tag = debootstrap_tag()
    return tag, None if _exists(client, tag) else (lambda: debootstrap_base(client, tag, cache_dir, say))


def _pull_if_missing(client: Any, ref: str) -> None:
    import docker.errors

    if _exists(client, ref):
        return
    try:
        client.images.pull(ref)
    except docker.errors.APIError as exc:
        raise SandboxError(f"cannot pull {ref}: {exc.explanation or exc}") from exc


def build_deps(client: Any, base_ref: str, make_base: Callable[[], None] | None, cache_dir: Path, say: Say) -> str:
    reqs = requirements()
    tag = f"{REPO}-deps:{_hash(base_ref, DEPS_DOCKERFILE, *reqs, *TRIM)}"
    if _exists(client, tag):
        return tag
    with tempfile.TemporaryDirectory(prefix="archlab-deps-", dir=_mkdir(cache_dir)) as tmp:
        ctx = Path(tmp)
        # pip and debootstrap do not depend on each other: the packages install while the base is made.
        with ThreadPoolExecutor(max_workers=1) as pool:
            site = pool.submit(_install_site, ctx / "site", reqs, say)
            if make_base is not None:
                make_base()
            site.result()
        (ctx / "Dockerfile").write_text(DEPS_DOCKERFILE)
        _docker_build(client, ctx, tag, {"BASE": base_ref}, say)
    return tag


def _install_site(site: Path, reqs: list[str], say: Say) -> None:
    say(f"installing {' '.join(reqs)} into the build context")
    _pip(["install", "--quiet", "--target", str(site), "--only-binary=:all:", *reqs])
    for part in TRIM:
        shutil.rmtree(site / part, ignore_errors=True)
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts with our venv's shebang


def _stage_sources(dest: Path) -> None:
    """Copy the worker's archlab packages to their dotted places, compiled: the image's root filesystem
    is read-only at run time, so without .pyc files every job would compile them again."""
    for name, path in source_files().items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / name)
    compileall.compile_dir(dest, quiet=1)


def _pip(args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SandboxError(f"pip {args[0]} failed: {proc.stderr.strip()[-2000:]}")


def _docker_build(client: Any, ctx: Path, tag: str, buildargs: dict[str, str], say: Say) -> None:
    import docker.errors

    say(f"building {tag}")
    try:
        client.images.build(path=str(ctx), tag=tag, buildargs=buildargs, rm=True, forcerm=True, pull=False,
                            labels={LABEL: "image"})
    except (docker.errors.BuildError, docker.errors.APIError) as exc:
        raise SandboxError(f"docker build of {tag} failed: {exc}") from exc


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- a base image without a registry: debootstrap + docker import --------------------------------

def _suite() -> str:
    suite = DEBIAN_SUITES.get(sys.version_info[:2])
    if suite is None:
        raise SandboxError("no Debian suite ships Python {}.{}; pass --base with a matching Python image"
                           .format(*sys.version_info[:2]))
    return suite


def debootstrap_tag() -> str:
    return f"{REPO}-base:{_suite()}-{_hash(_suite(), 'minbase', *DEBIAN_PACKAGES)}"


def debootstrap_base(client: Any, tag: str, cache_dir: Path, say: Say) -> None:
    """Make a Debian root filesystem with debootstrap and load it as image `tag`."""
    suite, mirror = _suite(), debian_mirror()
    if shutil.which("debootstrap") is None:
        raise SandboxError("debootstrap is not installed (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="archlab-rootfs-", dir=_mkdir(cache_dir)) as tmp:
        rootfs, tarball = Path(tmp) / "rootfs", Path(tmp) / "rootfs.tar"
        say(f"debootstrap {suite} (minbase, {', '.join(DEBIAN_PACKAGES)})")
        _run(["debootstrap", "--variant=minbase", f"--include={','.join(DEBIAN_PACKAGES)}", suite, str(rootfs),
              mirror], "debootstrap")
        for junk in ("usr/share/doc", "usr/share/man", "usr/share/locale", "usr/share/info", "var/cache/apt",
                     "var/lib/apt/lists"):
            shutil.rmtree(rootfs / junk, ignore_errors=True)
        _run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(tarball), "."], "tar")
        say(f"docker import {tag}")
        repository, version = tag.split(":")
        client.api.import_image_from_file(str(tarball), repository=repository, tag=version,
                                          changes=[f'LABEL {LABEL}="image"', 'CMD ["python3"]'])


def debian_mirror() -> str:
    """The Debian mirror this machine's apt already uses (deb822 or one-line sources)."""
    apt = Path("/etc/apt")
    for path in sorted((apt / "sources.list.d").glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields = dict(line.split(":", 1) for line in stanza.splitlines() if ":" in line and line[:1] != "#")
            uri, suites = fields.get("URIs", "").split(), fields.get("Suites", "")
            if uri and "security" not in suites and "debian" in uri[0]:
                return uri[0].strip()
    for path in [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list"))]:
        for line in path.read_text().splitlines() if path.exists() else []:
            words = line.split()
            if words[:1] == ["deb"] and "security" not in line:
                return next(w for w in words[1:] if not w.startswith("["))
    raise SandboxError("no Debian mirror found in this machine's apt sources for debootstrap")


def _run(argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SandboxError(f"{what} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}")
