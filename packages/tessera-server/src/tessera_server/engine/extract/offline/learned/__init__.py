"""A relation tagger trained here on the labelled statements, shipped as package data.

- `features`: tokens and the features the tagger reads;
- `training`: labelled statements → tag sequences → a CRFsuite model file;
- `tagger`: the shipped model at run time (`shipped_tagger()`), and candidate facts;
- `revise`: how its output vetoes and completes the rule facts.

Re-train with `python bench/extraction/train_relation_model.py` (deterministic).
"""

from .revise import Thresholds, revise
from .tagger import RelationTagger, Tagging, shipped_tagger

__all__ = ["RelationTagger", "Tagging", "Thresholds", "revise", "shipped_tagger"]
