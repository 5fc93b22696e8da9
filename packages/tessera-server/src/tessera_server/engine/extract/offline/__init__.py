"""The deterministic offline extractor, one module per job.

- `vocabulary`: the word lists (kin, pets, jobs, instruments, names);
- `text`: tidying and the sentence parts that state nothing;
- `objects`: clipping and splitting object phrases;
- `rules`: the verb-phrase catalogue, as data;
- `patterns`: subjects and possessive statements;
- `foresight`: plans, deadlines and temporary states;
- `extractor`: `OfflineExtractor`, which puts them together.
"""

from .extractor import OfflineExtractor
from .foresight import foresight_expired

__all__ = ["OfflineExtractor", "foresight_expired"]
