"""What the engine runs with: settings, the store and the providers."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings
from ..providers.embedder import Embedder
from ..providers.llm import ChatModel
from ..providers.reranker import Reranker
from ..providers.vision import Captioner
from ..providers.vision.ocr import TextReader
from ..store import Store
from .extract import Extractor


@dataclass
class Runtime:
    settings: Settings
    store: Store
    embedder: Embedder
    extractor: Extractor
    reranker: Reranker
    llm: ChatModel | None
    captioner: Captioner | None
    reader: TextReader | None = None  # offline OCR for images when no captioner is set
