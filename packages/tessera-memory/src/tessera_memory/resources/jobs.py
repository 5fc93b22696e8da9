"""``client.jobs``: background job status."""

from __future__ import annotations

from .._operation import Operation, model, path
from .._resource import M, Raw, Resource, endpoint
from ..models import JobStatusResponse


class Jobs(Resource[M]):
    """Jobs queued by writes and by ``maintenance.consolidate``."""

    @property
    def with_raw_response(self) -> Jobs[Raw[M]]:
        """The same methods, returning :class:`~tessera_memory.APIResponse` wrappers."""
        return Jobs(self._executor, raw=True)

    @endpoint
    def get(job_id: str) -> Operation[JobStatusResponse]:
        """Status of job ``job_id`` (``job_...``): queued, running, succeeded or failed."""
        return Operation("GET", path("/v1/jobs/{}", job_id), model(JobStatusResponse))
