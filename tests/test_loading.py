"""Loading articles: normalised text, title, sections, visible text only, and a clear error for every bad input."""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

import pytest

from ingest.errors import CorpusError
from ingest.loading import collect_files, doc_id_for, load_article, load_articles, normalise_text
from ingest.spans import paragraph_spans

SEED_SUBHEADINGS = ["« En signe de soutien et de solidarité »", "De nombreuses exactions"]


def test_seed_title_sections_and_identity(seed_path: Path) -> None:
    article = load_article(seed_path)
    assert article.doc_id == "mali-wagner-tinzaouatene"
    assert article.title.startswith("Au Mali, la Russie vient de subir une grosse perte")
    assert [s.heading for s in article.sections] == [article.title, *SEED_SUBHEADINGS]
    for section in article.sections:
        assert article.text[section.start : section.start + len(section.heading)] == section.heading
    assert article.version == hashlib.sha256(article.text.encode()).hexdigest()
    assert article.source == str(seed_path)


def test_seed_text_is_kept_exactly_apart_from_normalisation(seed_path: Path) -> None:
    raw = seed_path.read_text(encoding="utf-8")
    article = load_article(seed_path)
    assert article.text == raw.strip("\n")
    assert "l’armée" in article.text and "« victoire éclatante »" in article.text  # typographic marks kept
    assert unicodedata.is_normalized("NFC", article.text)


def test_normalise_text() -> None:
    raw = "\ufeffTitre  \r\n\r\n\r\n\r\nCafe\u0301 noir\t \rFin.\n\n\n"
    assert normalise_text(raw) == "Titre\n\nCafé noir\nFin."
    assert normalise_text(normalise_text(raw)) == normalise_text(raw)


def test_doc_id_is_a_stable_slug_of_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "Été à Bamako (2).txt"
    path.write_text("Titre\nUn texte.", encoding="utf-8")
    first = load_article(path)
    path.write_text("Titre\nUn texte modifié.", encoding="utf-8")
    second = load_article(path)
    assert first.doc_id == second.doc_id == doc_id_for(path) == "ete-a-bamako-2"
    assert first.version != second.version


def test_plain_text_headings_need_a_short_line_without_sentence_end(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(
        "Le titre\nPremier paragraphe assez long pour être un paragraphe.\n« Oui. »\nUn intertitre\n"
        "- un élément de liste\nDernier paragraphe.\nDernière ligne sans point",
        encoding="utf-8",
    )
    article = load_article(path)
    assert [s.heading for s in article.sections] == ["Le titre", "Un intertitre"]


def test_hard_wrapped_text_is_not_taken_for_headings(tmp_path: Path) -> None:
    lines = [f"ligne numéro {i} d'un texte coupé à la main sans ponctuation" for i in range(12)]
    path = tmp_path / "wrapped.txt"
    path.write_text("Titre\n" + "\n".join(lines) + ".\n", encoding="utf-8")
    assert [s.heading for s in load_article(path).sections] == ["Titre"]


HTML = """<!doctype html>
<html><head><title> Le  titre de la page </title>
<style>p { color: red }</style><script>var secret = "SCRIPT-CONTENT";</script></head>
<body><!-- COMMENT-CONTENT -->
<noscript>NOSCRIPT-CONTENT</noscript><template><p>TEMPLATE-CONTENT</p></template>
<h1>Grand <em>titre</em></h1>
<p>Premier   paragraphe
 avec un <a href="https://example.org/LINK-TARGET">lien</a>.<br>Deuxième ligne&nbsp;!</p>
<div hidden>HIDDEN-CONTENT</div>
<h2>Un intertitre</h2>
<p>L’armée a dit « oui ».<script>document.write("INLINE-SCRIPT")</script></p>
<ul><li>un</li><li>deux</li></ul>
</body></html>"""


def test_html_keeps_visible_text_and_headings_only(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML, encoding="utf-8")
    article = load_article(path)
    for hidden in ("SCRIPT", "COMMENT", "NOSCRIPT", "TEMPLATE", "HIDDEN", "LINK-TARGET", "INLINE-SCRIPT", "color"):
        assert hidden not in article.text
    assert article.text == (
        "Grand titre\n\nPremier paragraphe avec un lien.\nDeuxième ligne\u00a0!\n\nUn intertitre\n\n"
        "L’armée a dit « oui ».\n\nun\n\ndeux"
    )
    assert article.title == "Le titre de la page"
    assert [(s.heading, article.text[s.start : s.start + len(s.heading)]) for s in article.sections] == [
        ("Grand titre", "Grand titre"),
        ("Un intertitre", "Un intertitre"),
    ]
    assert normalise_text(article.text) == article.text


def test_html_title_falls_back_to_first_h1(tmp_path: Path) -> None:
    path = tmp_path / "page.htm"
    path.write_text("<p>Intro.</p><h1>Le vrai titre</h1><p>Texte.</p>", encoding="utf-8")
    assert load_article(path).title == "Le vrai titre"


MARKDOWN = """# Le titre du billet

Un [lien vers l’AFP](https://afp.com/LINK-TARGET "TITLE-ATTR") et ![une carte du Mali](carte.png) puis
du **gras**, de l’*italique* et du `code`.

[ref]: https://example.org/REF-TARGET

## Un intertitre

Voir [la source][ref] ou <https://example.org/auto>.
"""


def test_markdown_links_and_images_become_visible_text(tmp_path: Path) -> None:
    path = tmp_path / "billet.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    article = load_article(path)
    assert article.text == (
        "Le titre du billet\n\n"
        "Un lien vers l’AFP et une carte du Mali puis du gras, de l’italique et du code.\n\n"
        "Un intertitre\n\n"
        "Voir la source ou https://example.org/auto."
    )
    for syntax in ("](", "![", "LINK-TARGET", "REF-TARGET", "TITLE-ATTR", "**", "`", "#"):
        assert syntax not in article.text
    assert article.title == "Le titre du billet"
    assert [s.heading for s in article.sections] == ["Le titre du billet", "Un intertitre"]
    for section in article.sections:
        assert article.text[section.start :].startswith(section.heading)


def test_markdown_front_matter_title(tmp_path: Path) -> None:
    path = tmp_path / "fm.md"
    path.write_text('---\ntitle: "Titre du front matter"\nauthor: X\n---\nUn paragraphe.\n', encoding="utf-8")
    article = load_article(path)
    assert article.title == "Titre du front matter"
    assert article.text == "Un paragraphe."


def test_paragraph_spans_by_line_or_by_block() -> None:
    assert paragraph_spans("a\nb\n  c") == [(0, 1), (2, 3), (6, 7)]
    text = "un\ndeux\n\ntrois"
    assert [text[s:e] for s, e in paragraph_spans(text)] == ["un\ndeux", "trois"]


def test_directories_are_walked_recursively_in_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ("b/z.md", "a.txt", "b/y.html", ".hidden/x.txt", "notes.docx", "c.htm"):
        (tmp_path / name).write_text("Titre\nTexte.", encoding="utf-8")
    names = [p.relative_to(tmp_path).as_posix() for p in collect_files([tmp_path])]
    assert names == ["a.txt", "b/y.html", "b/z.md", "c.htm"]


def _one_line_error(paths: list[Path]) -> str:
    with pytest.raises(CorpusError) as caught:
        load_articles(paths)
    message = str(caught.value)
    assert "\n" not in message and message
    return message


def test_missing_path(tmp_path: Path) -> None:
    assert "no such file" in _one_line_error([tmp_path / "absent.txt"])


@pytest.mark.parametrize("content", [b"", b"   \n\n\t  \r\n"])
def test_empty_or_blank_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    assert "empty" in _one_line_error([path])


@pytest.mark.parametrize("content", [b"PK\x03\x04\x00\x00binary", bytes(range(1, 32)) * 20 + b"text"])
def test_binary_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(content)
    assert "binary" in _one_line_error([path])


def test_non_utf8_file_names_the_offset_and_iconv(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Titre\nLe café est prêt.".encode("latin-1"))
    message = _one_line_error([path])
    assert "not valid UTF-8" in message and "offset 12" in message and "0xe9" in message
    assert "iconv -f latin1 -t utf-8" in message


def test_utf16_file_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "utf16.txt"
    path.write_bytes("Titre\nTexte.".encode("utf-16"))
    assert "iconv -f utf-16" in _one_line_error([path])


def test_directory_without_articles(tmp_path: Path) -> None:
    (tmp_path / "notes.docx").write_bytes(b"PK")
    assert "no article files" in _one_line_error([tmp_path])


def test_damaged_pdf(tmp_path: Path) -> None:
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    assert "cannot be read as a PDF" in _one_line_error([tmp_path])


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "article.docx"
    path.write_text("Titre\nTexte.", encoding="utf-8")
    assert "unsupported file type '.docx'" in _one_line_error([path])


def test_html_without_visible_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.html"
    path.write_text("<html><head><script>x()</script></head><body>  </body></html>", encoding="utf-8")
    assert "no visible text" in _one_line_error([path])


def test_two_files_with_one_doc_id(tmp_path: Path) -> None:
    (tmp_path / "news.txt").write_text("Titre\nTexte.", encoding="utf-8")
    (tmp_path / "news.md").write_text("# Titre\n\nTexte.", encoding="utf-8")
    assert "same document id 'news'" in _one_line_error([tmp_path])
