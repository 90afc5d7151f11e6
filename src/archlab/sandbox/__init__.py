"""Running untrusted evaluation stages under enforced limits; `make_sandbox(name)` picks a backend:
`process` (the embedded default, confined by namespaces and cgroups where Linux allows) or `docker`."""

from archlab.sandbox.base import Job, JobResult, JobStatus, Limits, Sandbox, make_sandbox

__all__ = ["Job", "JobResult", "JobStatus", "Limits", "Sandbox", "make_sandbox"]
