"""The shared statements as one class for a backend to build on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .. import portable
from .console import ConsoleReads
from .export import Export
from .forget import Forget
from .jobs import Jobs
from .keys import Keys
from .listing import Listing
from .profile import Profile
from .search import SearchArms
from .turns import Turns


class SqlStore(Keys, Turns, Export, ConsoleReads, Profile, Forget, Jobs, Listing, SearchArms):
    """Keys, turns, episodes, facts, profile, forgetting, export, the console's reads, the
    common job calls, listing and the search arms; a backend adds connections, its two
    rankers, job claiming and migrations."""

    def export_rows(self, tenant: str | None, user_id: str | None) -> Iterator[dict[str, Any]]:
        return portable.export_rows(self, tenant, user_id)

    def import_rows(self, rows: Iterable[dict[str, Any]]) -> dict[str, int]:
        return portable.import_rows(self, rows)
