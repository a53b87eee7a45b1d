"""Bringing one's own article to the real chat in headless Chromium: drop a .md or a .pdf, send a URL, see the list.

One ``assistant serve`` on the default offline LLM over a store holding the seed; a loopback news site
(tests/newssite.py) serves the page a user sends by URL, so private addresses are allowed for this server. Each
test asserts what the reader sees (the outcome line in their language, a cited answer from the new article, the
welcome list) and, for the URL, what the store holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import newssite
import pytest
from test_app_browser import ANSWER_TIMEOUT_MS, ARTIFACTS, SEED, _ingest, _Server

pytestmark = pytest.mark.slow
pytest.importorskip("playwright.sync_api")

MARKDOWN = """# La coopérative de Bouaflé

La coopérative des pêcheurs de Bouaflé a vendu 41 tonnes de poisson en 2025, contre 29 tonnes l'année précédente.

Elle emploie huit mareyeuses à plein temps, selon son président, Yao Kouassi.
"""


MARKET = """# Le marché de Gao rouvre

Le grand marché de Gao a rouvert lundi, six mois après l'incendie qui l'avait détruit.

Les commerçants ont reçu de la mairie des étals neufs et une aide de 200 000 francs CFA chacun.
"""


#: What an upload's message says once it has ended (the waiting and progress lines say none of these).
OUTCOMES = ("ajouté (", "remplacé par", "déjà chargé", "added (", "replaced by", "already loaded")


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with newssite.news_site() as base:
        yield base


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, child_env: Callable[..., dict[str, str]]) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("uploads")
    env = child_env(ASSISTANT_STORE_DIR=str(work / "store"), ASSISTANT_ALLOW_PRIVATE_URLS="true")
    _ingest([SEED], env, work)
    files = work / "files"
    files.mkdir()
    (files / "cooperative.md").write_text(MARKDOWN, encoding="utf-8")
    (files / "rapport.pdf").write_bytes(newssite.article_pdf())
    (files / "scan.pdf").write_bytes(newssite.scanned_pdf())
    server = _Server(work, env)
    try:
        yield {"url": server.url, "env": env, "files": files, "cwd": work}
    finally:
        server.stop()


def _open(browser: Any, url: str, locale: str = "fr-FR") -> Any:
    page = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900}).new_page()
    page.goto(url)
    page.wait_for_selector("#welcome-screen", timeout=60_000)
    page.wait_for_selector(".command-buttons-container button", timeout=60_000)  # the chat has started
    return page


def _messages(page: Any) -> list[str]:
    return [t.strip() for t in page.locator('[data-step-type="assistant_message"] .message-content').all_inner_texts()]


def _send(page: Any, text: str = "", attach: Path | None = None) -> None:
    if attach is not None:
        page.locator("input[type=file]").first.set_input_files(str(attach))
        page.wait_for_selector(f"text={attach.name}", timeout=10_000)
        # Chainlit keeps the send button disabled until the file is uploaded: Enter before that is lost.
        page.wait_for_selector("#chat-submit:not([disabled])", timeout=60_000)
    if text:
        page.fill("#chat-input", text)
    page.locator("#chat-input").press("Enter")


def _wait_outcome(page: Any, before: int, timeout_s: float = 120) -> str:
    """The text of the upload's message once it says how the upload ended (added, unchanged or refused)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        new = _messages(page)[before:]
        for text in new:
            if text.startswith("⚠️") or any(end in text for end in OUTCOMES):
                return text
        page.wait_for_timeout(250)
    raise AssertionError(f"no upload outcome; messages: {_messages(page)}")


def _wait_answer(page: Any, before: int) -> str:
    page.wait_for_function(
        "n => document.querySelectorAll('[data-step-type=\"assistant_message\"] .message-content').length > n",
        arg=before,
        timeout=ANSWER_TIMEOUT_MS,
    )
    # The verified answer replaces the streamed one with its source links (a refusal links its nearest passage).
    page.wait_for_function(
        """() => {
            const all = document.querySelectorAll('[data-step-type="assistant_message"]');
            return all.length && all[all.length - 1].querySelector('a.element-link') !== null
                && !document.querySelector('#stop-button');
        }""",
        timeout=ANSWER_TIMEOUT_MS,
    )
    return _messages(page)[-1]


def _first_source(page: Any) -> str:
    """Open the last answer's first source; the side panel's text (its quote or the nearest passage)."""
    link = page.locator('[data-step-type="assistant_message"]').last.locator("a.element-link").first
    name = link.inner_text().strip()
    link.click()
    page.wait_for_function(
        "name => document.querySelector('#side-view-title')?.innerText.trim() === name", arg=name, timeout=10_000
    )
    return page.locator("#side-view-content").inner_text()


def _stored(app: dict[str, Any]) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "list", "--json"],
        env=app["env"], cwd=app["cwd"], check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_a_dropped_markdown_file_is_added_and_answered_with_its_quote(app: dict[str, Any], browser: Any) -> None:
    page = _open(browser, app["url"])
    assert "Articles chargés" in page.locator("#welcome-screen").inner_text()
    _send(page, "Combien de tonnes de poisson la coopérative de Bouaflé a-t-elle vendues en 2025 ?",
          attach=app["files"] / "cooperative.md")  # fmt: skip
    outcome = _wait_outcome(page, 0)
    assert outcome == "« La coopérative de Bouaflé » ajouté (1 passage) ; posez vos questions.", outcome
    answer = _wait_answer(page, 1)
    panel = _first_source(page)
    assert "La coopérative de Bouaflé" in panel, (answer, panel)  # the source is the new article
    if not answer.startswith("L'article ne le dit pas"):
        assert "41" in answer, answer
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "upload-md-fr.png"), full_page=True)


def test_what_a_dropped_file_is_about_is_told_in_its_own_cited_sentences(app: dict[str, Any], browser: Any) -> None:
    page = _open(browser, app["url"])
    dropped = app["cwd"] / "marche-de-gao.md"
    dropped.write_text(MARKET, encoding="utf-8")
    _send(page, "De quoi parle l'article ?", attach=dropped)
    assert "« Le marché de Gao rouvre » ajouté (" in _wait_outcome(page, 0)
    answer = _wait_answer(page, 1)
    assert answer.startswith("Le grand marché de Gao a rouvert lundi, six mois après l'incendie"), answer
    assert "Les commerçants ont reçu de la mairie des étals neufs" in answer and "[2]" in answer, answer
    assert "dernier article ajouté, « Le marché de Gao rouvre »" in answer, answer
    assert "Le marché de Gao rouvre" in _first_source(page)


def test_a_pdf_is_added_and_its_citation_names_the_page(app: dict[str, Any], browser: Any) -> None:
    page = _open(browser, app["url"])
    _send(page, attach=app["files"] / "rapport.pdf")
    assert "« Rapport annuel de la coopérative » ajouté (2 passages)" in _wait_outcome(page, 0)
    _send(page, "Combien la coopérative a-t-elle payé ses deux pirogues à moteur ?")
    answer = _wait_answer(page, 1)
    panel = _first_source(page)
    assert "Rapport annuel de la coopérative" in panel and "page 2" in panel, (answer, panel)
    if not answer.startswith("L'article ne le dit pas"):
        assert "3,2 millions" in answer, answer
    page.screenshot(path=str(ARTIFACTS / "upload-pdf-fr.png"), full_page=True)


def test_a_url_sent_alone_adds_the_article_without_the_page_furniture(
    app: dict[str, Any], browser: Any, site: str
) -> None:
    page = _open(browser, app["url"], "en-US")
    _send(page, f"{site}/kossou.html")
    assert _wait_outcome(page, 0) == f"“{newssite.TITLE}” added (4 passages); ask about it."
    [row] = [r for r in _stored(app) if r["source"] == f"{site}/kossou.html"]
    assert row["author"] == newssite.AUTHOR
    script = (
        "import json, sys; from assistant.settings import get_settings; from ingest.store import open_store\n"
        "with open_store(get_settings(), create=False) as s: print(json.dumps(s.article(sys.argv[1]).text))"
    )
    text = json.loads(subprocess.run(
        [sys.executable, "-c", script, row["id"]], env=app["env"], cwd=app["cwd"], check=True, capture_output=True,
        text=True, timeout=120,
    ).stdout)  # fmt: skip
    assert all(sentence in text for sentence in newssite.ARTICLE_SENTENCES)
    assert not [furniture for furniture in newssite.FURNITURE if furniture in text]


def test_bad_uploads_are_refused_in_the_readers_language_and_change_nothing(
    app: dict[str, Any], browser: Any, site: str
) -> None:
    before = _stored(app)
    page = _open(browser, app["url"])
    _send(page, attach=app["files"] / "scan.pdf")
    refusal = _wait_outcome(page, 0)
    assert refusal.startswith("⚠️ scan.pdf n'a pas été ajouté : ce PDF n'a pas de couche texte"), refusal
    assert refusal.endswith("Les articles chargés n'ont pas changé.")
    _send(page, f"{site}/connexion.html")
    refusal = _wait_outcome(page, 1)
    assert "la page ne contient pas d'article (formulaire de connexion" in refusal, refusal
    _send(page, f"{site}/boucle")
    assert "l'adresse redirige sans fin" in _wait_outcome(page, 2)
    assert _stored(app) == before
    # The same file twice: the second time nothing changes, and the reader is told so.
    _send(page, attach=app["files"] / "cooperative.md")
    first = _wait_outcome(page, 3)
    _send(page, attach=app["files"] / "cooperative.md")
    assert _wait_outcome(page, 4) == "« La coopérative de Bouaflé » est déjà chargé, à l'identique : rien n'a changé."
    assert "ajouté" in first or "déjà chargé" in first


def test_an_upload_during_an_answer_waits_for_it_and_the_welcome_screen_lists_the_articles(
    app: dict[str, Any], browser: Any
) -> None:
    asking = _open(browser, app["url"])
    uploading = _open(browser, app["url"])
    _send(asking, "Qui a revendiqué l'attaque de Tinzaouatene ?")
    asking.wait_for_selector("#stop-button", timeout=60_000)  # the answer is under way
    (app["files"] / "breve.md").write_text(
        "# Brève de Gao\n\nLe marché central de Gao rouvrira le 3 janvier après six semaines de travaux.\n",
        encoding="utf-8",
    )
    _send(uploading, attach=app["files"] / "breve.md")
    uploading.wait_for_function(
        "() => [...document.querySelectorAll('[data-step-type=\"assistant_message\"] .message-content')]"
        ".some(m => m.innerText.includes('sera ajouté juste après') || m.innerText.includes('ajouté ('))",
        timeout=60_000,
    )
    answer = _wait_answer(asking, 0)
    assert answer and not answer.startswith("⚠️"), answer
    assert _wait_outcome(uploading, 0) == "« Brève de Gao » ajouté (1 passage) ; posez vos questions."
    welcome = _open(browser, app["url"]).locator("#welcome-screen").inner_text()
    for title in ("Brève de Gao", "La coopérative de Bouaflé", "Au Mali, la Russie vient de subir"):
        assert title in welcome, welcome
    assert "déposez un fichier" in welcome


def test_two_uploads_at_once_both_land(app: dict[str, Any], browser: Any) -> None:
    tabs = [_open(browser, app["url"]), _open(browser, app["url"])]
    for n, name in enumerate(("Kayes", "Ségou")):
        (app["files"] / f"meteo-{n}.md").write_text(
            f"# Météo à {name}\n\nIl est tombé {n + 12} millimètres de pluie à {name} dimanche, selon la station.\n",
            encoding="utf-8",
        )
    for n, tab in enumerate(tabs):
        _send(tab, attach=app["files"] / f"meteo-{n}.md")
    outcomes = [_wait_outcome(tab, 0) for tab in tabs]
    assert outcomes == [f"« Météo à {name} » ajouté (1 passage) ; posez vos questions." for name in ("Kayes", "Ségou")]
    assert {"Météo à Kayes", "Météo à Ségou"} <= {row["title"] for row in _stored(app)}
