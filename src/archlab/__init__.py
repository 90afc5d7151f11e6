"""archlab: agents that discover neural-network architectures.

Kept import-light on purpose: every subpackage (archlab.spaces, archlab.sandbox, ...) passes through
this module, including the sandbox worker that must start fast.
"""

__version__ = "0.1.0"
