"""archlab: agents that discover neural-network architectures.

Kept import-light on purpose: every subpackage (archlab.spaces, archlab.sandbox, ...) passes through
this module, including the sandbox worker that must start fast. The Python API (`archlab.Task`,
`archlab.discover`, archlab/api.py) is imported on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Best", "Result", "Task", "discover"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from archlab import api

        return getattr(api, name)
    raise AttributeError(f"module 'archlab' has no attribute {name!r}")
