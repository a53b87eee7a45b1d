"""The passage store: ChromaDB collections holding passages, their vectors and the articles they come from.

Layout (one store = one Chroma database, embedded ``PersistentClient`` in ``config.store_dir`` or a
``chroma run`` server when ``config.chroma_host`` is set):

* ``<collection>``: one record per passage. Document = passage text; metadata = doc_id, passage_id, version,
  revision, key (``doc_id|revision``), start, end, section, paragraph, position, title, page (PDFs); cosine space. The
  embedder identity (backend, model, dimension) is stored in the collection metadata and checked on every open.
* ``<collection>-catalog``: one record per article, id = doc_id. Document = the full normalised ``Article.text``
  (so quotes can be verified and highlighted without the source file); metadata = title, source, version,
  revision, sections (JSON), passages (count), pages (JSON: where each PDF page starts), author, published,
  added (when this version was stored). Its 1-d placeholder vector is never searched.
* ``<collection>-generation``: one record whose ``token`` changes around every catalog switch. Readers keep the
  catalog in memory and check this one record (~1 ms) instead of re-reading every article's record (~50 ms at
  1,000 articles) on each search; see ``_current``.

``revision`` identifies one article version *as split*: a hash of its passage ids, so changing the text or the
splitting (``chunk_size``, a better splitter) both produce a new revision, and re-ingesting an unchanged file
produces the same one. Chroma record ids are derived from (revision, passage id), so two revisions never share
a record.

Atomicity and idempotence. Ingesting an article:

1. if the catalog already holds this revision: skip, nothing is written (same count, same ids);
2. upsert the new revision's passages next to the old ones (different record ids, nothing overwritten);
3. upsert the catalog record: this single-record write (one SQLite transaction) is the switch; the generation
   token is set to a fresh "busy" value just before it and to a fresh settled value just after it;
4. delete the article's passages of any other revision (skipped for a new article in an embedded store: the
   garbage collection that starts every write batch there already removed what a crashed ingest left).

Reads only return passages whose ``key`` is the one the catalog names for their article, so readers see the old
revision until step 3 and the new one after it. A crash before 3 leaves invisible orphans, after 3 invisible
leftovers; the next writer garbage-collects both when it takes the write lock. A kill at any point leaves a
complete, consistent index.

Concurrency. Chroma's embedded mode is single-process: several writers corrupt the index. Writes therefore take
``store_dir/.write.lock`` (``filelock``, no waiting) and leave their pid in ``.write.lock.pid`` so the second writer
is told who holds it. In server mode the server serialises writes; there is no cross-process lock, so run one
ingest at a time against a server, and the global garbage collection is skipped (an orphan may belong to
another writer's in-flight ingest). Readers in other processes are fine, but an embedded client keeps the
vector index in memory and never sees another process's writes: a search that finds the catalog changed by
someone else reopens the client first (see ``_reload_index``).

Chroma's default embedding function downloads a model on first use (and so fails offline): collections are
created with ``embedding_function=None`` and every write and query passes its own vectors (Chroma 1.5.9 still
falls back to its default function, and tries to download it, if given documents without embeddings).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, TypeVar

from ingest.articles import Article, Passage, Section
from ingest.config import CorpusConfig, StoreConfig
from ingest.embedding import BATCH_SIZE, Embedder, EmbedderIdentity, make_embedder
from ingest.errors import CorpusError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

#: Bumped when the record layout changes; a store with another schema must be re-ingested.
SCHEMA = 1
CATALOG_SUFFIX = "-catalog"
GENERATION_SUFFIX = "-generation"
_GENERATION_ID = "generation"
_BUSY = "busy-"
#: Passages read per ``get``: SQLite refuses a statement with more than 32,766 variables, one per returned record.
_READ_PAGE = 5000
LOCK_NAME = ".write.lock"
CREATE_LOCK_NAME = ".create.lock"
#: Seconds an opener waits for another process to finish creating a new store's database (well under a second here).
_CREATE_WAIT = 60
PID_NAME = ".write.lock.pid"
_PLACEHOLDER_VECTOR = [1.0]
#: How many candidates Chroma's HNSW index explores per search (Chroma's default: 100). An embedded client rebuilds
#: the index of the vectors it has not yet saved (under 1,000) each time a process opens the store, in parallel, so
#: the graph differs from one process to the next; at 100, on the broad set's store (991 passages, 352 questions,
#: exact search as the reference), 9 of 18 processes missed one of a question's 4 nearest passages (for one or two
#: questions each), and the answer depended on which process asked. At 400, none of 16 did. On synthetic stores
#: (`bench/retrieval_scale.py`), recall@10 0.959 -> 1.000 at 10k passages and 0.55 -> 0.84 at 100k, for ~1.5-2 ms more
#: per query.
SEARCH_EF = 400
_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclass(frozen=True)
class IngestOutcome:
    """What ingesting one article did: ``new`` / ``replaced`` / ``unchanged``, passages written and removed."""

    doc_id: str
    status: Literal["new", "replaced", "unchanged"]
    added: int
    removed: int


@dataclass(frozen=True)
class _CatalogSnapshot:
    """The catalog's article records as read under one generation token, and what readers derive from them."""

    token: str | None
    metadata: dict[str, Any]
    active: dict[str, str]
    state: str


def revision_of(passages: Sequence[Passage]) -> str:
    """Identity of one article version as split: a hash of its passage ids (which include the version)."""
    return hashlib.sha256("\n".join(p.id for p in passages).encode("ascii")).hexdigest()[:16]


def open_store(
    config: CorpusConfig,
    embedder: Embedder | None = None,
    *,
    store_dir: Path | None = None,
    create: bool = True,
    check_identity: bool = True,
) -> PassageStore:
    """Open the store the configuration points at, with the configured embedder unless one is given.

    ``store_dir`` overrides ``config.store_dir`` (the ``--store`` option).

    ``create=False`` is for readers: a store that was never ingested into is then a :class:`CorpusError` telling
    the user to run ``assistant ingest``, instead of an empty result. ``check_identity=False`` opens a store built
    with another embedder too (for ``assistant doctor``, which reports the mismatch next to what else it finds);
    its searches are then meaningless.
    """
    embedder = embedder if embedder is not None else make_embedder(config)
    return PassageStore(config, embedder, store_dir=store_dir, create=create, check_identity=check_identity)


def _server_errors(method: Callable[Concatenate[PassageStore, _P], _R]) -> Callable[Concatenate[PassageStore, _P], _R]:
    """Turn a lost connection to a Chroma server into a one-line :class:`CorpusError`.

    A server can stop or restart under a running chat: that question must get a message, not a traceback, and
    the next one an answer (the HTTP client reconnects by itself once the server is back).
    """

    @functools.wraps(method)
    def wrapper(store: PassageStore, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(store, *args, **kwargs)
        except Exception as error:
            import httpx

            if not store.server_mode or not isinstance(error, httpx.TransportError):
                raise
            host, port = store.config.chroma_host, store.config.chroma_port
            raise CorpusError(
                f"lost the connection to the Chroma server at {host}:{port} ({type(error).__name__}); check that "
                "`chroma run` is running there, then try again"
            ) from None

    return wrapper


class PassageStore:
    """Passages and articles in ChromaDB, written atomically and read consistently (see the module docstring)."""

    def __init__(
        self,
        config: StoreConfig,
        embedder: Embedder,
        *,
        store_dir: Path | None = None,
        create: bool = True,
        check_identity: bool = True,
    ) -> None:
        self.config = config
        self.embedder = embedder
        self.store_dir = Path(store_dir if store_dir is not None else config.store_dir)
        self.server_mode = config.chroma_host is not None
        self.location = (
            f"chroma://{config.chroma_host}:{config.chroma_port}/{config.collection}"
            if self.server_mode
            else str(self.store_dir)
        )
        self._write_depth = 0
        self._file_lock: Any = None
        self._snapshot: _CatalogSnapshot | None = None
        self._client = self._connect(create)
        try:
            self._open_collections()
            if self._passages is None and not create:
                raise CorpusError(f"no articles in store {self.location}; run `assistant ingest PATH` first")
            if self._passages is not None and check_identity:
                self._check_identity(self._passages)
        except BaseException:
            self.close()
            raise
        self._index_sees = self._active()

    def _open_collections(self) -> None:
        self._passages: Collection | None = self._get_collection(self.config.collection)
        self._catalog: Collection | None = self._get_collection(self.config.collection + CATALOG_SUFFIX)
        self._generation: Collection | None = self._get_collection(self.config.collection + GENERATION_SUFFIX)

    # ----------------------------------------------------------------------------------------------------------
    # Lifecycle

    def close(self) -> None:
        """Release the Chroma client (an embedded store keeps SQLite handles open until the last client closes)."""
        with contextlib.suppress(Exception):
            self._client.close()

    def __enter__(self) -> PassageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the store's write lock for a batch of ingests (re-entrant; ``ingest`` takes it by itself too).

        Acquiring never waits: a second writer gets a :class:`CorpusError` at once, naming the holder's pid. The
        first acquisition also creates the collections if needed and garbage-collects passages left by a crash.
        """
        if self._write_depth == 0:
            self._acquire_lock()
            try:
                self._ensure_collections()
                if not self.server_mode:
                    self._collect_garbage()
                    self._settle_generation()
            except BaseException:
                self._release_lock()
                raise
        self._write_depth += 1
        try:
            yield
        finally:
            self._write_depth -= 1
            if self._write_depth == 0:
                self._release_lock()

    # ----------------------------------------------------------------------------------------------------------
    # Writing

    @_server_errors
    def is_current(self, article: Article, passages: Sequence[Passage]) -> bool:
        """True if this exact article version, split this way, is already the active one (ingest would skip it)."""
        return self._revision(article.doc_id) == revision_of(passages)

    @_server_errors
    def ingest(
        self,
        article: Article,
        passages: Sequence[Passage],
        embeddings: Sequence[Sequence[float]] | None = None,
    ) -> IngestOutcome:
        """Make ``passages`` the article's active passages, atomically; skip if they already are.

        ``embeddings`` (one vector per passage, from this store's embedder) lets the caller embed in batches with
        progress; without it the store embeds the passages itself.
        """
        if not passages:
            raise CorpusError(f"{article.source}: no passages to index (is the article only headings?)")
        for passage in passages:
            if passage.doc_id != article.doc_id or article.text[passage.start : passage.end] != passage.text:
                raise ValueError(f"passage {passage.id} does not belong to article {article.doc_id}")
        with self.writing():
            revision = revision_of(passages)
            previous = self._revision(article.doc_id)
            if previous == revision:
                return IngestOutcome(article.doc_id, "unchanged", 0, 0)
            if embeddings is None:
                embeddings = self._embed([p.text for p in passages])
            if len(embeddings) != len(passages):
                raise ValueError(f"{len(embeddings)} embeddings for {len(passages)} passages")
            dim = self.embedder.identity.dim
            if any(len(vector) != dim for vector in embeddings):
                raise ValueError(f"embeddings must have {dim} dimensions")
            self._write_passages(article, revision, passages, embeddings)
            removed = self._activate(article, revision, len(passages), previous)
            return IngestOutcome(article.doc_id, "new" if previous is None else "replaced", len(passages), removed)

    @_server_errors
    def stored_vectors(self, doc_id: str) -> dict[str, list[float]]:
        """The vectors already stored for an article's passages, by passage text, whatever their revision.

        A new version of an article mostly repeats the old one's passages, and an ingest killed before its switch
        has already written the new revision's: their vectors are reused instead of embedded again (the store's
        embedder identity is fixed, so the same text always has the same vector).
        """
        if self._passages is None:
            return {}
        pages = self._read_pages({"doc_id": doc_id}, ("documents", "embeddings"))
        return {text: [float(x) for x in vector] for text, vector in pages}

    def _embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH_SIZE):
            vectors.extend(self.embedder.embed_documents(texts[start : start + BATCH_SIZE]))
        return vectors

    def _write_passages(
        self, article: Article, revision: str, passages: Sequence[Passage], embeddings: Sequence[Sequence[float]]
    ) -> None:
        """Step 2: the new revision's passages, invisible to readers until the catalog switches to them."""
        collection = self._require(self._passages)
        key = f"{article.doc_id}|{revision}"
        batch = max(1, min(self._client.get_max_batch_size(), 1000))
        for start in range(0, len(passages), batch):
            chunk = passages[start : start + batch]
            collection.upsert(
                ids=[_record_id(revision, p.id) for p in chunk],
                embeddings=[list(map(float, v)) for v in embeddings[start : start + batch]],
                documents=[p.text for p in chunk],
                metadatas=[
                    {
                        "doc_id": p.doc_id,
                        "passage_id": p.id,
                        "version": article.version,
                        "revision": revision,
                        "key": key,
                        "title": p.title,
                        "start": p.start,
                        "end": p.end,
                        "section": p.section,
                        "paragraph": p.paragraph,
                        "position": p.position,
                        **({"page": p.page} if p.page is not None else {}),
                    }
                    for p in chunk
                ],
            )

    def _activate(self, article: Article, revision: str, passage_count: int, previous: str | None) -> int:
        """Steps 3 and 4: switch between a busy and a settled generation token, then drop the other revisions.

        A new article has no other revision to drop, and looking for one costs a filter over every passage: in an
        embedded store the garbage collection that opened this write batch already removed what a crashed ingest
        left. A server store has no such collection, so there the filter runs for new articles too.
        """
        self._bump_generation(busy=True)
        self._switch(article, revision, passage_count)
        self._bump_generation(busy=False)
        self._index_sees = {**self._index_sees, article.doc_id: revision}  # our own writes are in our index
        if previous is None and not self.server_mode:
            return 0
        return self._drop_other_revisions(article.doc_id, revision)

    def _switch(self, article: Article, revision: str, passage_count: int) -> None:
        """Step 3: one single-record upsert makes the new revision the active one."""
        self._require(self._catalog).upsert(
            ids=[article.doc_id],
            embeddings=[_PLACEHOLDER_VECTOR],
            documents=[article.text],
            metadatas=[
                {
                    "title": article.title,
                    "source": article.source,
                    "version": article.version,
                    "revision": revision,
                    "sections": json.dumps([[s.heading, s.start] for s in article.sections], ensure_ascii=False),
                    "passages": passage_count,
                    "pages": json.dumps(list(article.pages)),
                    "author": article.author,
                    "published": article.published,
                    "added": datetime.now(UTC).isoformat(timespec="milliseconds"),  # orders two added in a second
                }
            ],
        )

    @_server_errors
    def remove(self, doc_id: str) -> int:
        """Take an article out of the store, atomically for readers; the number of passages removed.

        Dropping the catalog record is the switch (readers stop seeing the article at once, as for an ingest);
        its passages are deleted after it, and a crash in between leaves them to the next writer's garbage
        collection.
        """
        with self.writing():
            if self._revision(doc_id) is None:
                known = ", ".join(sorted(self._active())) or "none"
                raise CorpusError(
                    f"no article {doc_id!r} in store {self.location} (stored: {known}); see `assistant list`"
                )
            self._bump_generation(busy=True)
            self._require(self._catalog).delete(ids=[doc_id])
            self._bump_generation(busy=False)
            self._index_sees = {key: value for key, value in self._index_sees.items() if key != doc_id}
            stale = self._require(self._passages).get(where={"doc_id": doc_id}, include=[])["ids"]
            self._delete(stale)
            return len(stale)

    def _bump_generation(self, *, busy: bool) -> None:
        """Give the generation record a token never seen before, so every reader re-reads the catalog.

        A "busy" token (set before a switch) tells readers not to keep what they read: if the writer dies between
        the switch and the settled token, readers go on reading the catalog on every search instead of keeping a
        copy from before the switch.
        """
        token = (_BUSY if busy else "") + uuid.uuid4().hex
        self._require(self._generation).upsert(
            ids=[_GENERATION_ID], embeddings=[_PLACEHOLDER_VECTOR], metadatas=[{"token": token}]
        )

    def _settle_generation(self) -> None:
        """Clear a "busy" token a killed writer left (under the write lock no switch can be in flight)."""
        token = self._generation_token()
        if token is None or token.startswith(_BUSY):
            self._bump_generation(busy=False)

    def _drop_other_revisions(self, doc_id: str, revision: str) -> int:
        """Step 4: remove the article's passages of every other revision (now invisible anyway)."""
        collection = self._require(self._passages)
        stale = collection.get(
            where={"$and": [{"doc_id": doc_id}, {"key": {"$ne": f"{doc_id}|{revision}"}}]}, include=[]
        )["ids"]
        self._delete(stale)
        return len(stale)

    def _collect_garbage(self) -> int:
        """Delete passages no catalog record points at: what a killed ingest left behind."""
        if self._passages is None:
            return 0
        keys = [f"{doc_id}|{revision}" for doc_id, revision in self._active().items()]
        where = {"key": {"$nin": keys}} if keys else None
        stale = self._passages.get(where=where, include=[])["ids"]
        self._delete(stale)
        return len(stale)

    def _delete(self, ids: list[str]) -> None:
        collection = self._require(self._passages)
        batch = max(1, min(self._client.get_max_batch_size(), 1000))
        for start in range(0, len(ids), batch):
            collection.delete(ids=ids[start : start + batch])

    # ----------------------------------------------------------------------------------------------------------
    # Reading

    def search(self, query: str, k: int) -> list[tuple[Passage, float]]:
        """The ``k`` active passages closest to ``query``, best first, with their cosine similarity (1 = same)."""
        return self.search_by_vector(self.embedder.embed_query(query), k)

    @_server_errors
    def search_by_vector(self, vector: Sequence[float], k: int) -> list[tuple[Passage, float]]:
        """Dense search with a query vector from this store's embedder (see :meth:`search`).

        Fetches ``3 * k`` neighbours and drops those of inactive revisions (only present during an ingest or
        after a crash), fetching more if too few remain. The catalog comes from memory unless the generation
        token says it changed, so a search costs Chroma's query plus one single-record read.
        """
        active = self._active()
        if active != self._index_sees:
            self._reload_index()
            self._index_sees = active
        if k < 1 or self._passages is None or not active:
            return []
        wanted = 3 * k
        while True:
            result = self._passages.query(
                query_embeddings=[list(map(float, vector))],
                n_results=wanted,
                include=["documents", "metadatas", "distances"],
            )
            hits = [
                (_passage(text, meta), 1.0 - float(distance))
                for text, meta, distance in zip(
                    result["documents"][0], result["metadatas"][0], result["distances"][0], strict=True
                )
                if meta is not None and text is not None and active.get(str(meta["doc_id"])) == meta["revision"]
            ]
            if len(hits) >= k or len(result["ids"][0]) < wanted:  # fewer than asked: the collection is exhausted
                return hits[:k]
            wanted *= 2

    @_server_errors
    def passages(self, doc_ids: Iterable[str] | None = None) -> list[Passage]:
        """Every active passage, or only those of ``doc_ids``, in (doc_id, position) order (the corpus for BM25).

        ``doc_ids`` lets an index built on top re-read only the articles whose revision changed (see
        :meth:`revisions`): reading all 100k passages of a large store takes seconds.
        """
        if self._passages is None:
            return []
        snapshot = self._current()
        active, catalog = snapshot.active, snapshot.metadata
        if doc_ids is not None:
            catalog = {doc_id: catalog[doc_id] for doc_id in set(doc_ids) if doc_id in catalog}
        found = [
            _passage(text, meta)
            for keys in _key_groups(catalog)
            for text, meta in self._read_pages({"key": {"$in": keys}})
            if active.get(str(meta["doc_id"])) == meta["revision"]
        ]
        return sorted(found, key=lambda p: (p.doc_id, p.position))

    def _read_pages(
        self, where: dict[str, Any], include: tuple[str, str] = ("documents", "metadatas")
    ) -> Iterator[tuple[Any, Any]]:
        """The two ``include`` fields of the passages matching ``where``, a page per ``get`` (see ``_READ_PAGE``).

        Paging is consistent because the records of one key never change: they are written once before the
        switch and only deleted once no catalog record names them.
        """
        collection = self._require(self._passages)
        offset = 0
        while True:
            page = collection.get(where=where, limit=_READ_PAGE, offset=offset, include=list(include))
            yield from zip(page[include[0]], page[include[1]], strict=True)
            if len(page["ids"]) < _READ_PAGE:
                return
            offset += _READ_PAGE

    @_server_errors
    def article(self, doc_id: str) -> Article:
        """The stored article: full normalised text, title, sections, source and version."""
        if self._catalog is not None:
            result = self._catalog.get(ids=[doc_id], include=["documents", "metadatas"])
            if result["ids"]:
                return _article(doc_id, result["documents"][0], result["metadatas"][0])
        raise CorpusError(f"no article {doc_id!r} in store {self.location}; run `assistant ingest` on it")

    @_server_errors
    def articles(self) -> list[Article]:
        """Every stored article, by doc_id."""
        if self._catalog is None:
            return []
        result = self._catalog.get(include=["documents", "metadatas"])
        found = [
            _article(doc_id, text, meta)
            for doc_id, text, meta in zip(result["ids"], result["documents"], result["metadatas"], strict=True)
        ]
        return sorted(found, key=lambda a: a.doc_id)

    @_server_errors
    def count(self) -> int:
        """Number of active passages."""
        return sum(int(meta["passages"]) for meta in self._catalog_metadata().values())

    @_server_errors
    def passage_counts(self) -> dict[str, int]:
        """doc_id -> number of active passages of every article."""
        return {doc_id: int(meta["passages"]) for doc_id, meta in self._catalog_metadata().items()}

    @_server_errors
    def newest(self) -> str | None:
        """The doc_id of the article stored last (the one a chat user just added), None when the store is empty."""
        metadata = self._catalog_metadata()
        return max(metadata, key=lambda doc_id: (str(metadata[doc_id].get("added") or ""), doc_id), default=None)

    @_server_errors
    def revisions(self) -> dict[str, str]:
        """doc_id -> active revision of every article: which articles changed since an earlier call."""
        return dict(self._active())

    @_server_errors
    def state(self) -> str:
        """A token that changes whenever the active content changes (a cache key for indexes built on top)."""
        return self._current().state

    def stored_identity(self) -> EmbedderIdentity | None:
        """The embedder the passages were built with, as recorded on the collection (None if not recorded)."""
        return _identity_of(self._passages.metadata if self._passages is not None else None)

    @_server_errors
    def verify(self) -> list[str]:
        """Check the invariants readers rely on; returns the problems found (empty when consistent).

        Every catalog article has exactly its ``passages`` count of active passages, at positions 0..n-1, each
        equal to ``article.text[start:end]``.
        """
        problems: list[str] = []
        by_doc: dict[str, list[Passage]] = {}
        for passage in self.passages():
            by_doc.setdefault(passage.doc_id, []).append(passage)
        counts = {doc_id: int(meta["passages"]) for doc_id, meta in self._catalog_metadata().items()}
        for article in self.articles():
            found = by_doc.get(article.doc_id, [])
            if len(found) != counts[article.doc_id]:
                problems.append(f"{article.doc_id}: {len(found)} passages, catalog says {counts[article.doc_id]}")
            if [p.position for p in found] != list(range(len(found))):
                problems.append(f"{article.doc_id}: positions are not 0..{len(found) - 1}")
            problems.extend(
                f"{article.doc_id}: passage {p.id} does not match the article text at {p.start}:{p.end}"
                for p in found
                if article.text[p.start : p.end] != p.text
            )
        return problems

    # ----------------------------------------------------------------------------------------------------------
    # Internals

    def _active(self) -> dict[str, str]:
        """doc_id -> active revision, from the catalog (the single source of truth for readers)."""
        return self._current().active

    def _revision(self, doc_id: str) -> str | None:
        """The article's active revision, read from its own catalog record (a writer's check, never cached)."""
        if self._catalog is None:
            return None
        result = self._catalog.get(ids=[doc_id], include=["metadatas"])
        return str(result["metadatas"][0]["revision"]) if result["ids"] else None

    def _current(self) -> _CatalogSnapshot:
        """The catalog as it is now: the copy in memory while the generation token is unchanged, else read again.

        A copy is kept only if the token was settled (not "busy") and the same before and after the read: any
        switch after the token was read is followed by a new token, which makes the next call read again. This
        holds across processes, since the token lives in the store. A store written before the generation
        collection existed has no token and is read on every call until its next ingest.
        """
        token = self._generation_token()
        if self._snapshot is not None and token == self._snapshot.token:
            return self._snapshot
        snapshot = self._snapshot_of(token, self._read_catalog_metadata())
        settled = token is not None and not token.startswith(_BUSY) and self._generation_token() == token
        self._snapshot = snapshot if settled else None
        return snapshot

    def _snapshot_of(self, token: str | None, metadata: dict[str, Any]) -> _CatalogSnapshot:
        active = {doc_id: str(meta["revision"]) for doc_id, meta in metadata.items()}
        payload = json.dumps([self.location, self.config.collection, sorted(active.items())])
        state = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
        return _CatalogSnapshot(token, metadata, active, state)

    def _generation_token(self) -> str | None:
        if self._generation is None:
            self._generation = self._get_collection(self.config.collection + GENERATION_SUFFIX)
            if self._generation is None:
                return None
        result = self._generation.get(ids=[_GENERATION_ID], include=["metadatas"])
        return str(result["metadatas"][0]["token"]) if result["ids"] else None

    def _reload_index(self) -> None:
        """Reopen an embedded store after another process changed it.

        An embedded Chroma client keeps the vector index in memory and does not see another process's writes
        (metadata reads go to SQLite and do), so a long-lived reader such as the chat server would miss the
        passages of a re-ingested article. Reconnecting reloads the index from disk. Chroma shares one client
        per path in a process, so this works when the process holds a single open store for that path.
        """
        if self.server_mode:
            return  # the server holds the only index; it is always current
        self.close()
        self._client = self._connect(create=False)
        self._open_collections()

    def _catalog_metadata(self) -> dict[str, Any]:
        return self._current().metadata

    def _read_catalog_metadata(self) -> dict[str, Any]:
        if self._catalog is None:
            return {}
        result = self._catalog.get(include=["metadatas"])
        return dict(zip(result["ids"], result["metadatas"] or [], strict=True))

    def _connect(self, create: bool) -> ClientAPI:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.server_mode:
            host, port = self.config.chroma_host, self.config.chroma_port
            try:
                client = chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
                client.heartbeat()
            except Exception as error:
                raise CorpusError(
                    f"cannot reach the Chroma server at {host}:{port} ({type(error).__name__}); start it with "
                    f"`chroma run --path DIR --host {host} --port {port}` or unset ASSISTANT_CHROMA_HOST"
                ) from None
            return client
        store_dir = self.store_dir
        if not store_dir.is_dir() and not create:
            raise CorpusError(f"no store at {store_dir}; run `assistant ingest PATH` first")
        try:
            store_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CorpusError(
                f"store directory {store_dir} cannot be created ({error.strerror or error}); "
                "choose a writable directory with --store or ASSISTANT_STORE_DIR"
            ) from None
        try:
            with self._creating(store_dir):
                return chromadb.PersistentClient(path=str(store_dir), settings=chroma_settings)
        except CorpusError:
            raise
        except Exception as error:
            raise CorpusError(
                f"cannot open store {store_dir} ({type(error).__name__}: {str(error).splitlines()[0]}); "
                "check its permissions or use another --store"
            ) from None

    @staticmethod
    @contextlib.contextmanager
    def _creating(store_dir: Path) -> Iterator[None]:
        """Hold a lock while Chroma creates a new store's database, so that two processes opening one new store
        at once take turns: both creating its tables, the second failed with "table collections already exists"
        instead of waiting and then being told the store is being written."""
        if (store_dir / "chroma.sqlite3").exists():
            yield
            return
        from filelock import FileLock, Timeout

        try:
            with FileLock(str(store_dir / CREATE_LOCK_NAME), timeout=_CREATE_WAIT):
                yield
        except Timeout:
            raise CorpusError(
                f"store {store_dir} is being created by another process for over {_CREATE_WAIT} s; "
                "check what holds it, or use another --store"
            ) from None

    def _get_collection(self, name: str) -> Collection | None:
        from chromadb.errors import NotFoundError

        try:
            return self._client.get_collection(name, embedding_function=None)
        except NotFoundError:
            return None
        except ValueError:  # older clients raise ValueError for a missing collection
            return None

    def _ensure_collections(self) -> None:
        """Create the three collections on first write (cosine space, no embedding function, identity recorded)."""
        identity = self.embedder.identity
        if self._passages is None:
            self._passages = self._client.get_or_create_collection(
                self.config.collection,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine", "ef_search": SEARCH_EF}},
                metadata={
                    "schema": SCHEMA,
                    "embedder_backend": identity.backend,
                    "embedder_model": identity.model,
                    "embedder_dim": identity.dim,
                },
            )
            self._check_identity(self._passages)
        self._search_wide(self._passages)
        if self._catalog is None:
            self._catalog = self._client.get_or_create_collection(
                self.config.collection + CATALOG_SUFFIX, embedding_function=None, metadata={"schema": SCHEMA}
            )
        if self._generation is None:
            self._generation = self._client.get_or_create_collection(
                self.config.collection + GENERATION_SUFFIX, embedding_function=None, metadata={"schema": SCHEMA}
            )

    @staticmethod
    def _search_wide(collection: Collection) -> None:
        """Give a store created before :data:`SEARCH_EF` its search breadth, on its next write (readers never
        write: other processes may be reading it)."""
        hnsw = (collection.configuration or {}).get("hnsw") or {}
        if hnsw.get("ef_search", 0) < SEARCH_EF:
            collection.modify(configuration={"hnsw": {"ef_search": SEARCH_EF}})

    def _check_identity(self, collection: Collection) -> None:
        """Refuse a store built with another embedder: its vectors are not comparable with ours."""
        meta = collection.metadata or {}
        stored = _identity_of(meta)
        if stored is None:
            raise CorpusError(
                f"collection {collection.name!r} in store {self.location} was not created by `assistant ingest`; "
                "use another --store or ASSISTANT_COLLECTION"
            )
        if meta.get("schema") != SCHEMA:
            raise CorpusError(
                f"store {self.location} has layout version {meta.get('schema')}, this assistant needs {SCHEMA}; "
                "re-ingest into a new --store"
            )
        backend, model = self.embedder.backend, self.embedder.model
        if (stored.backend, stored.model) == (backend, model) and stored.dim == self.embedder.identity.dim:
            return
        configured = (
            self.embedder.identity.describe() if (stored.backend, stored.model) == (backend, model) else
            f"{backend}/{model}"
        )
        raise CorpusError(
            f"store {self.location} was built with {stored.describe()} but the configured embedder is "
            f"{configured}; re-ingest into a new --store or set {stored.settings_hint()}"
        )

    def _acquire_lock(self) -> None:
        if self.server_mode:
            return
        from filelock import FileLock, Timeout

        store_dir = self.store_dir
        if self._file_lock is None:
            self._file_lock = FileLock(str(store_dir / LOCK_NAME), timeout=0)
        try:
            self._file_lock.acquire(timeout=0)
        except Timeout:
            try:
                holder = (store_dir / PID_NAME).read_text().strip() or "unknown"
            except OSError:
                holder = "unknown"
            raise CorpusError(
                f"store {store_dir} is being written by another process (pid {holder}); "
                "wait for it or use another --store",
                reason="store_busy",
            ) from None
        except OSError as error:
            raise CorpusError(
                f"store directory {store_dir} is not writable ({error.strerror or error}); "
                "choose a writable directory with --store or ASSISTANT_STORE_DIR"
            ) from None
        try:
            (store_dir / PID_NAME).write_text(f"{os.getpid()}\n")
        except OSError as error:
            self._file_lock.release()
            raise CorpusError(
                f"store directory {store_dir} is not writable ({error.strerror or error}); "
                "choose a writable directory with --store or ASSISTANT_STORE_DIR"
            ) from None

    def _release_lock(self) -> None:
        if self._file_lock is None:
            return
        with contextlib.suppress(OSError):
            (self.store_dir / PID_NAME).unlink()
        self._file_lock.release()

    @staticmethod
    def _require(collection: Collection | None) -> Collection:
        if collection is None:
            raise RuntimeError("collections are created on first write; call inside writing()")
        return collection


def _key_groups(catalog: dict[str, Any]) -> Iterator[list[str]]:
    """The active ``doc_id|revision`` keys, grouped so that one group holds about a page of passages."""
    group: list[str] = []
    size = 0
    for doc_id, meta in sorted(catalog.items()):
        if group and size + int(meta["passages"]) > _READ_PAGE:
            yield group
            group, size = [], 0
        group.append(f"{doc_id}|{meta['revision']}")
        size += int(meta["passages"])
    if group:
        yield group


def _identity_of(meta: Mapping[str, Any] | None) -> EmbedderIdentity | None:
    """The embedder identity recorded on a passages collection, or None when it carries none."""
    meta = meta or {}
    try:
        return EmbedderIdentity(str(meta["embedder_backend"]), str(meta["embedder_model"]), int(meta["embedder_dim"]))
    except (KeyError, TypeError, ValueError):
        return None


def _record_id(revision: str, passage_id: str) -> str:
    return hashlib.sha256(f"{revision}|{passage_id}".encode("ascii")).hexdigest()[:32]


def _passage(text: str, meta: Any) -> Passage:
    return Passage(
        id=str(meta["passage_id"]),
        doc_id=str(meta["doc_id"]),
        title=str(meta["title"]),
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        section=str(meta["section"]),
        paragraph=int(meta["paragraph"]),
        position=int(meta["position"]),
        page=int(meta["page"]) if meta.get("page") is not None else None,
    )


def _article(doc_id: str, text: str, meta: Any) -> Article:
    sections = tuple(Section(heading=str(h), start=int(s)) for h, s in json.loads(str(meta["sections"])))
    return Article(
        doc_id=doc_id,
        title=str(meta["title"]),
        text=text,
        source=str(meta["source"]),
        version=str(meta["version"]),
        sections=sections,
        pages=tuple(json.loads(str(meta.get("pages") or "[]"))),
        author=str(meta.get("author") or ""),
        published=str(meta.get("published") or ""),
        added=str(meta.get("added") or ""),
    )
