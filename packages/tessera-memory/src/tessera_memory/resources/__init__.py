"""The resource classes behind ``client.memories``, ``client.search`` and the rest."""

from .jobs import Jobs
from .maintenance import Maintenance
from .memories import Memories
from .procedures import Procedures
from .resources import Resources
from .search import Query, Search

# The class names of the published 0.1.4 client (one class per resource and client kind there;
# here one generic class serves both clients, so each pair names the same class).
MemoriesResource = AsyncMemoriesResource = Memories
SearchResource = AsyncSearchResource = Search
QueryResource = AsyncQueryResource = Query
JobsResource = AsyncJobsResource = Jobs
MaintenanceResource = AsyncMaintenanceResource = Maintenance
ProceduresResource = AsyncProceduresResource = Procedures
ResourcesResource = AsyncResourcesResource = Resources

__all__ = [
    "AsyncJobsResource",
    "AsyncMaintenanceResource",
    "AsyncMemoriesResource",
    "AsyncProceduresResource",
    "AsyncQueryResource",
    "AsyncResourcesResource",
    "AsyncSearchResource",
    "Jobs",
    "JobsResource",
    "Maintenance",
    "MaintenanceResource",
    "Memories",
    "MemoriesResource",
    "Procedures",
    "ProceduresResource",
    "Query",
    "QueryResource",
    "Resources",
    "ResourcesResource",
    "Search",
    "SearchResource",
]
