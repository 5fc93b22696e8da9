"""The one place that reads configuration: environment variables prefixed `TESSERA_`.

Command-line flags override these by building a `Settings` with explicit values. The
documentation's configuration table is generated from the field descriptions below, so
a setting exists exactly when it is declared here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    data_dir = Path(platformdirs.user_data_dir("tessera", appauthor=False))
    return f"sqlite:///{data_dir / 'tessera.db'}"


class Settings(BaseSettings):
    """Service settings; every field maps to `TESSERA_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="TESSERA_", extra="ignore", frozen=True)

    database_url: str = Field(
        default_factory=default_database_url,
        description="Where memory lives: `sqlite:///path/to/file.db` (the default is a file "
        "in the user's data directory) or `postgresql://user:password@host:5432/dbname` "
        "(PostgreSQL with pgvector; install `tessera-server[postgres]`).",
    )
    database_pool_size: int = Field(
        10, ge=1, description="PostgreSQL: most connections each process keeps open."
    )
    postgres_exact_search_rows: int = Field(
        10_000,
        ge=0,
        description="PostgreSQL: a vector search among at most this many candidate rows (its "
        "scope and filters) is exact; larger ones use the HNSW index (approximate).",
    )
    sqlite_cache_mb: int = Field(
        1024,
        ge=16,
        description="SQLite: most memory each process gives its in-memory search indexes "
        "(vectors, words and graphs per scope searched); the least recently searched scopes "
        "go first. A scope of 100,000 memories takes about 170 MB per table with its graph.",
    )
    sqlite_graph_min_rows: int = Field(
        20_000,
        ge=0,
        description="SQLite: vector search in a scope with at most this many items is exact; "
        "larger scopes get an HNSW graph built in the background (candidates still scored "
        "exactly). 0 turns graphs off.",
    )
    host: str = Field("127.0.0.1", description="Address `tessera serve` binds to.")
    port: int = Field(8420, ge=1, le=65535, description="Port `tessera serve` listens on.")
    log_level: str = Field("info", description="Service log level (debug, info, warning).")
    docs_url: str = Field(
        "https://tessera-memory.readthedocs.io/en/latest",
        description="Base of the documentation site; problem `type` URIs point into it.",
    )
    console_enabled: bool = Field(
        True,
        description="Serve the memory console at `/console` (sign in with an API key to "
        "browse, search and fix memory in a browser); `false` leaves only the HTTP API.",
    )
    console_session_hours: float = Field(
        8.0,
        gt=0,
        le=720,
        description="How long a console sign-in lasts before the key is asked for again.",
    )

    # Limits: requests past these are refused with 413 or 422 before anything is stored.
    max_body_bytes: int = Field(2_000_000, description="Largest JSON request body, in bytes.")
    max_content_chars: int = Field(
        32_000,
        description="Longest `query`, fact correction, procedure task or caption, in characters.",
    )
    max_turn_chars: int = Field(
        200_000,
        ge=1,
        description="Longest turn `content`, in characters (a pasted document or log). A turn "
        "longer than `turn_part_chars` is stored whole and searched in parts.",
    )
    turn_part_chars: int = Field(
        1_000,
        ge=200,
        description="A turn longer than this is searched in parts of at most this many "
        "characters, cut at paragraphs, then sentences, then words (about the 256 tokens "
        "the bundled embedder reads).",
    )
    turn_parts_embedded_once: bool = Field(
        True,
        description="A turn searched in parts has each part's text embedded once: the turn's "
        "own vector is made from its first part as stored (dated and attributed; a verbatim "
        "turn's note as written) and that part takes it. `false` makes the turn's own vector "
        "from its first 256 tokens and embeds its first part again in consolidation.",
    )
    max_metadata_bytes: int = Field(16_000, description="Largest `metadata` object, as JSON bytes.")
    max_metadata_depth: int = Field(4, description="Deepest nesting allowed inside `metadata`.")
    max_label_chars: int = Field(256, description="Longest `user_id`, `session_id` or `turn_id`.")
    max_batch: int = Field(500, description="Most messages in one `memories:batch` call.")
    max_top_k: int = Field(100, description="Upper bound for `top_k` and `k` on reads.")
    default_top_k: int = Field(10, description="`top_k` when a search or query gives none.")
    max_filters: int = Field(16, description="Most filter clauses in one read.")
    max_page_size: int = Field(200, description="Upper bound for `limit` on list calls.")
    default_page_size: int = Field(50, description="`limit` when a list call gives none.")
    max_upload_bytes: int = Field(5_000_000, description="Largest image upload, in bytes.")
    max_image_pixels: int = Field(
        50_000_000,
        ge=1,
        description="Most pixels (width x height) an uploaded image may have; checked from its "
        "header before decoding, so a decompression bomb is refused with 413.",
    )
    rate_limit_per_minute: int = Field(
        600, ge=1, description="Requests per minute each API key may make (token bucket)."
    )
    work_budget_bytes_per_minute: int = Field(
        4_000_000,
        ge=0,
        description="Request body bytes each API key may send per minute (a second token "
        "bucket next to the request count, since the work a request asks for grows with its "
        "text); a larger body than this is charged this much. 0 turns the budget off.",
    )
    fair_work_slots: int = Field(
        1,
        ge=0,
        description="Chunks of bulk embedding (calls larger than one chunk: about one long "
        "text or 32 short ones) run at once, taken round-robin between tenants, each after "
        "the interactive calls that arrived before it, so one tenant's bulk import cannot "
        "starve another's interactive calls. 1 suits one model that takes every core; 0 "
        "turns the scheduler off.",
    )

    # Consolidation cadence and shape.
    consolidate_every: int = Field(
        8, ge=1, description="Queue a consolidation job after this many unconsolidated turns."
    )
    episode_max_turns: int = Field(4, ge=1, description="Most turns one episode may hold.")
    episode_max_words: int = Field(
        80,
        ge=1,
        description="Most words one episode may hold; a longer single turn is an episode of its own.",
    )
    episode_exchanges: bool = Field(
        True,
        description="Episodes are exchanges: a turn joins the episode before it only when that "
        "episode's last turn asked a question (it is the reply).",
    )
    rerank_keep_fused: int = Field(
        0,
        ge=0,
        description="The rerank never pushes fusion's best this many results below place "
        "`rerank_keep_within` of the answer; 0 (the default: on the tuning questions the "
        "guard cost turn recall and gained no session recall) lets the rerank order freely.",
    )
    rerank_keep_turns: int = Field(
        1,
        ge=0,
        description="The best this many results of the turn-level arms alone (lexical and "
        "dense matches of single turns, fused: what a search over raw turns ranks first) keep "
        "a place within `rerank_keep_within` of the answer, whatever the rerank and the "
        "episode and fact arms do; 0 turns it off.",
    )
    rerank_keep_sittings: int = Field(
        0,
        ge=0,
        description="The sittings (turns said without a pause longer than "
        "`episode_gap_minutes`) of fusion's best this many distinct sittings keep a result "
        "within `rerank_keep_within` of the answer: the rerank may choose which of a sitting's "
        "items stands for it, but not drop the sitting fusion ranks first; 0 turns it off.",
    )
    rerank_keep_depth: int = Field(
        10,
        ge=0,
        description="Up to this place, the first k results of a reranked answer hold every "
        "sitting (turns said without a pause longer than `episode_gap_minutes`) of the first "
        "k // 2 results of fusion and of the turn-level arms: the rerank never loses at depth "
        "a sitting its own first stage ranks near the top; 0 turns it off.",
    )
    rerank_spread: float = Field(
        0.1,
        ge=0.0,
        description="For a question that gathers several things (how many, in total, "
        "compared with…), each result after the first of its sitting loses this much score "
        "per better result of the same sitting, so other sittings' best items come forward; "
        "0 turns it off (0.1 chosen on the LongMemEval tuning questions).",
    )
    rerank_keep_within: int = Field(
        5,
        ge=1,
        description="The place (1-based) that fusion's best `rerank_keep_fused` results and "
        "the turn-level arms' best `rerank_keep_turns` keep at least (e.g. 3 within 5).",
    )
    episode_gap_minutes: float = Field(
        30.0, description="A pause longer than this between turns starts a new episode."
    )
    episode_topic_threshold: float = Field(
        0.15,
        description="A turn less similar than this (cosine) to the episode so far starts a new one.",
    )
    worker_enabled: bool = Field(
        True,
        description="Run the job worker inside `tessera serve` (embedded deployments); "
        "`serve --workers N` with N > 1 never does (run `tessera worker` beside it).",
    )
    worker_poll_seconds: float = Field(0.5, description="How often an idle worker looks for jobs.")
    job_lease_seconds: float = Field(
        300.0, description="How long a claimed job is leased before another worker may retry it."
    )
    job_max_attempts: int = Field(3, ge=1, description="Attempts before a job is marked failed.")

    # Providers. Empty means the offline default.
    embedder: str = Field(
        "minilm-int8", description="Embedding model: `minilm-int8` (bundled, offline)."
    )
    embedder_runtime: Literal["openvino", "onnxruntime"] = Field(
        "openvino",
        description="What runs the embedding model: `openvino` (the default; the fastest on "
        "the CPUs measured) or `onnxruntime` (float32 only).",
    )
    embedder_precision: Literal["auto", "bf16", "f32", "int8"] = Field(
        "auto",
        description="OpenVINO's arithmetic: `auto` is `int8` on CPUs that compute bfloat16 "
        "natively (AMX or AVX-512 BF16, which also have the int8 instructions) and `f32` "
        "elsewhere. `int8` quantises the activations of the int8-weighted products (on an AMD "
        "EPYC 15 % less CPU per chat turn and 31 % less per query than `bf16`; vectors within "
        "a cosine of 0.998 of float32 ones, the same recall on every benchmark part); `bf16` "
        "keeps them in bfloat16 (within 0.9999, 1.6-2.4x as fast as `f32`).",
    )
    embedder_threads: int = Field(
        0,
        ge=0,
        description="Threads the embedding model runs on in each process; 0 = every core "
        "(in a `tessera worker` process, with the fair scheduler on, every core but one). "
        "Leave it at 0 with `serve --workers N` too: a lone search's query then runs on every "
        "core, and overlapping ones on one-thread copies (`embedder_crowded_lanes`).",
    )
    embedder_combine_texts: int = Field(
        4,
        ge=0,
        description="Embedding calls of at most this many texts (search queries) that arrive "
        "while the model is busy run together as one batch, which halves their cost on two "
        "cores; 0 = every call runs alone.",
    )
    embedder_crowded_lanes: int = Field(
        1,
        ge=0,
        description="One-thread copies of the embedding model (about 45 MB each) that embed "
        "the batches of overlapping calls (concurrent searches' queries); with more than one, "
        "batches run side by side. 1 = one copy, one batch at a time (on a busy two-core box "
        "two copies cost about 1 ms more CPU per search); 0 = one per core the model may use, "
        "at most 4.",
    )
    reranker_model_dir: str = Field(
        "",
        description="Directory with an ONNX cross-encoder (`model.onnx`, `tokenizer.json`) "
        "whose relevance the reranker blends with its local features; empty = local only.",
    )
    offline_tagger: bool = Field(
        False,
        description="Let the offline extractor's relation tagger (a small model trained on the "
        "project's labelled statements, shipped in the package) add facts the hand rules miss: "
        "on the blind sets it finds about 3 % more facts and lowers precision by 1-2 points "
        "(`bench/extraction/`), so it is off.",
    )
    llm_base_url: str = Field(
        "", description="OpenAI-compatible chat endpoint for the LLM extractor; empty = offline."
    )
    llm_api_key: str = Field("", description="Key for `llm_base_url` (never logged).")
    llm_model: str = Field("", description="Model name sent to `llm_base_url`.")
    llm_timeout_seconds: float = Field(60.0, description="Timeout of one LLM call.")
    vision_base_url: str = Field(
        "", description="OpenAI-compatible endpoint that captions images; empty = none."
    )
    vision_api_key: str = Field("", description="Key for `vision_base_url` (never logged).")
    vision_model: str = Field("", description="Vision model name sent to `vision_base_url`.")
    ocr_enabled: bool = Field(
        True,
        description="With no vision model, read the text in uploaded images with the bundled "
        "OCR (in the job worker); off keeps only what is known without a model.",
    )

    @property
    def sqlite_path(self) -> Path | None:
        """The database file when the SQLite backend is selected, else None."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix) :]).expanduser()
        return None


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit (non-None) overrides on top."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)  # type: ignore[arg-type]
