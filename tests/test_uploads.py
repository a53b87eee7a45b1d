"""What a chat message brings to add (files, a URL alone, a pasted article), who may add, and how it is told."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import newssite
import pytest
from pydantic import SecretStr

from assistant.chat import uploads
from assistant.settings import Settings
from ingest.errors import CorpusError
from ingest.loading import load_article
from ingest.pipeline import IngestReport
from ingest.store import IngestOutcome


def test_a_url_alone_is_an_article_to_add_and_a_question_with_a_url_is_not() -> None:
    assert uploads.url_alone("  https://example.org/a.html ") == "https://example.org/a.html"
    assert uploads.url_alone("<HTTP://example.org/a>") == "HTTP://example.org/a"
    assert uploads.url_alone("Que dit https://example.org/a.html ?") is None
    assert uploads.url_alone("ftp://example.org/a") is None


def test_a_long_multi_paragraph_text_without_a_question_is_a_pasted_article() -> None:
    article = "\n\n".join(newssite.ARTICLE_SENTENCES * 4)
    assert uploads.is_pasted_article(article)
    assert not uploads.is_pasted_article(article + "\n\nQui a parlé ?")
    assert not uploads.is_pasted_article("Qui a revendiqué l'attaque ?")


def test_uploads_are_off_with_sign_in_unless_shared_on_purpose(make_settings: Callable[..., Settings]) -> None:
    assert uploads.allowed(make_settings())
    assert not uploads.allowed(make_settings(auth_header="X-Forwarded-User"))
    assert not uploads.allowed(make_settings(auth_users=SecretStr("ana:x")))
    assert uploads.allowed(make_settings(auth_header="X-Forwarded-User", shared_uploads=True))


def test_one_bad_file_among_several_fails_the_message_before_anything_is_written(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    good, bad = tmp_path / "a1b2", tmp_path / "c3d4"  # saved under the chat's ids, read under their own names
    good.write_text("# Titre\n\nUn article correct.", encoding="utf-8")
    bad.write_bytes(newssite.scanned_pdf())
    files = [uploads.Upload("bon.md", good), uploads.Upload("scan.pdf", bad)]
    with pytest.raises(uploads.FailedUpload) as caught:
        uploads.load(files, [], None, make_settings(), "fr")
    assert caught.value.name == "scan.pdf" and caught.value.error.reason == "no_text_layer"
    [article] = uploads.load(files[:1], [], None, make_settings(), "fr")
    assert (article.doc_id, article.source, article.title) == ("bon", "bon.md", "Titre")


def test_uploaded_files_are_read_under_their_own_names() -> None:
    elements = [SimpleNamespace(name="dir/Rapport annuel.pdf", path="/tmp/x/123"), SimpleNamespace(name="x", path=None)]
    assert uploads.uploads_in(elements) == [uploads.Upload("Rapport annuel.pdf", Path("/tmp/x/123"))]


def test_refusals_and_outcomes_are_said_in_the_readers_language(tmp_path: Path) -> None:
    failure = uploads.FailedUpload("scan.pdf", CorpusError("scan.pdf: no text layer", reason="no_text_layer"))
    french = uploads.failure_text(failure, "fr")
    assert french.startswith("scan\\.pdf n'a pas été ajouté : ce PDF n'a pas de couche texte")  # the name is escaped
    assert "no text layer" not in french
    assert uploads.failure_text(failure, "en").startswith("scan\\.pdf was not added: this PDF has no text layer")
    unforeseen = uploads.FailedUpload("a.txt", CorpusError("a.txt: something new"))
    assert "something new" in uploads.failure_text(unforeseen, "fr")  # never silent

    path = tmp_path / "a.md"
    path.write_text("# Un *titre*\n\nTexte.", encoding="utf-8")
    article = load_article(path)
    report = IngestReport(
        results=[(article, IngestOutcome(article.doc_id, "new", 1, 0))], passages=1, embedded=1, seconds=0.1,
        location="x",
    )  # fmt: skip
    assert uploads.report_text(report, "fr") == "« Un titre » ajouté (1 passage) ; posez vos questions."
    same = IngestReport(
        results=[(article, IngestOutcome(article.doc_id, "unchanged", 0, 0))], passages=1, embedded=0, seconds=0.1,
        location="x",
    )  # fmt: skip
    assert uploads.report_text(same, "en") == "“Un titre” is already loaded, unchanged: nothing was added."


def test_a_pasted_article_is_named_by_its_content(make_settings: Callable[..., Settings]) -> None:
    text = "Titre de l'article\n\n" + "\n\n".join(newssite.ARTICLE_SENTENCES * 4)
    [article] = uploads.load([], [], text, make_settings(), "fr")
    [again] = uploads.load([], [], text, make_settings(), "en")
    assert article.doc_id == again.doc_id and article.doc_id.startswith("pasted-")  # pasting twice changes nothing
    assert (article.title, article.source) == ("Titre de l'article", "texte collé dans le chat")
    with pytest.raises(uploads.FailedUpload) as caught:
        uploads.load([], [], text, make_settings(max_article_bytes=1000), "fr")
    assert caught.value.error.reason == "too_big"
