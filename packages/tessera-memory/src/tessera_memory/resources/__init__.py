"""The resource classes behind ``client.memories``, ``client.search`` and the rest."""

from .jobs import Jobs
from .maintenance import Maintenance
from .memories import Memories
from .procedures import Procedures
from .resources import Resources
from .search import Query, Search

__all__ = ["Jobs", "Maintenance", "Memories", "Procedures", "Query", "Resources", "Search"]
