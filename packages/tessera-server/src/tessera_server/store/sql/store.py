"""The shared statements as one class for a backend to build on."""

from __future__ import annotations

from .console import ConsoleReads
from .export import Export
from .forget import Forget
from .jobs import Jobs
from .keys import Keys
from .profile import Profile
from .turns import Turns


class SqlStore(Keys, Turns, Export, ConsoleReads, Profile, Forget, Jobs):
    """Keys, turns, episodes, facts, profile, forgetting, export, the console's reads and the
    common job calls;
    a backend adds connections, search arms, job claiming and migrations."""
