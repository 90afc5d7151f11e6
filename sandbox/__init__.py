"""Running untrusted evaluation stages under enforced limits; `make_sandbox(name)` picks a backend."""

from archlab.sandbox.base import Job, JobResult, JobStatus, Limits, Sandbox, make_sandbox

__all__ = ["Job", "JobResult", "JobStatus", "Limits", "Sandbox", "make_sandbox"]
