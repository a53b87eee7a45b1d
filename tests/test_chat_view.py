"""What the chat shows, without a browser: escaping, markers and their panels, and the committed Chainlit files."""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path

import openai
import pytest
from openai.types.chat import ChatCompletion

from assistant.answer.answers import Answer, Citation, Claim
from assistant.chat import view as chat_view
from assistant.chat.offline_page import strip_remote_assets
from assistant.errors import UserError
from assistant.llm.errors import LLMCutOff
from ingest.articles import Passage

REPO = Path(__file__).resolve().parents[1]
# Located without importing it: importing chainlit creates .files/ (and default config files) in the cwd.
CHAINLIT_PACKAGE = Path(importlib.util.find_spec("chainlit").origin).parent  # type: ignore[union-attr,arg-type]
PASSAGE = "Les troupes ont subi de lourdes pertes. « Nos forces ont anéanti ces colonnes samedi. » Fin."
QUOTE = "« Nos forces ont anéanti ces colonnes samedi. »"


def _citation(n: int = 1) -> Citation:
    start = PASSAGE.index(QUOTE)
    return Citation(n, "p1", "doc", "Titre *gras*", "Section", 2, QUOTE, 100 + start, 100 + start + len(QUOTE),
                    PASSAGE, 100)


def _answer(**values: object) -> Answer:
    base: dict[str, object] = {"question": "q", "standalone_question": "q", "language": "fr", "answer": "",
                               "abstained": False}
    base.update(values)
    return Answer(**base)  # type: ignore[arg-type]


def _unescape(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown.replace("**", ""))


@pytest.mark.parametrize(
    "text",
    [
        "<script>window.__pwned=1</script>",
        '<img src=x onerror="window.__pwned=1">',
        "![x](http://example.invalid/a.png) [lien](javascript:alert(1)) [1]",
        "# titre\n    code\n- item\n1. un *gras* _it_ `code` ~~barré~~ | a | b |",
    ],
)
def test_escaped_text_has_no_live_markdown_or_html(text: str) -> None:
    escaped = chat_view.escape_markdown(text)
    assert not re.search(r"(?<!\\)[<>\[\]()*_`#!|~]", escaped)
    assert _unescape(escaped) == re.sub(r"(?<=\n)[ \t]+", "", text)


def test_streamed_tokens_keep_their_spaces() -> None:
    assert "".join(chat_view.escape_markdown(t) for t in ["Les", " forces", " (russes)"]) == "Les forces \\(russes\\)"


def test_answer_markers_are_the_element_names_and_only_real_markers_can_become_links() -> None:
    answer = _answer(
        answer="ignored",
        claims=[Claim("Les forces [1] ont <b>anéanti</b> les colonnes", (1,)), Claim("Samedi", (1, 2))],
        citations=[_citation(1), _citation(2)],
    )
    content = chat_view.answer_markdown(answer)
    panels = chat_view.answer_panels(answer)
    assert [p.name for p in panels] == ["[1]", "[2]"]
    # the fake "[1]" of the claim text is escaped, so only real markers can become links: two after the claims,
    # one in the list of sources
    assert content.count("[1]") == 3 and content.count("[2]") == 2
    assert "\\<b\\>" in content


def test_each_answer_numbers_its_sources_from_one_and_lists_them_under_it() -> None:
    answer = _answer(claims=[Claim("une quinzaine", (1,)), Claim("samedi", (2,))],
                     citations=[_citation(1), _citation(2)])
    content = chat_view.answer_markdown(answer)
    text, sources = content.split("\n\n**Sources**\n\n")
    assert text == "une quinzaine [1] ; samedi [2]."  # French spacing, and a full stop to end the answer
    first, second = sources.split("\n")
    # the quote (its sentence), the article's title and where the quote is, as a reader finds it
    assert first == f"- [1] {chat_view.escape_markdown(QUOTE)} — *Titre \\*gras\\** · Section : Section · paragraphe 3"
    assert second.startswith("- [2] ")
    again = chat_view.answer_markdown(answer)  # a later answer of the same chat starts from [1] again
    assert again == content and [p.name for p in chat_view.answer_panels(answer)] == ["[1]", "[2]"]
    english = chat_view.answer_markdown(_answer(language="en", claims=[Claim("Saturday.", (1,))],
                                                citations=[_citation(1)]))
    assert english.startswith("Saturday\\. [1]\n") and "- [1] « Nos" in english  # one full stop
    summary = chat_view.answer_markdown(_answer(claims=[Claim("Les troupes ont subi de lourdes pertes.", (1,)),
                                                        Claim("« Nos forces ont anéanti ces colonnes samedi. »", (2,))],
                                                citations=[_citation(1), _citation(2)]))
    assert summary.startswith("Les troupes ont subi de lourdes pertes\\. [1] « Nos")  # sentences: no « ; » between
    quoted_first = chat_view.answer_markdown(_answer(claims=[Claim(QUOTE, (1,)), Claim("Fin.", (2,))],
                                                     citations=[_citation(1), _citation(2)]))
    # a sentence ending « … samedi. » (a space before the guillemet) ends a sentence too: a space, no added stop
    assert quoted_first.startswith("« Nos forces ont anéanti ces colonnes samedi\\. » [1] Fin\\. [2]\n")


@pytest.mark.parametrize(
    ("quote", "shown"),
    [
        ("« Nos forces ont anéanti ces colonnes samedi.", "Nos forces ont anéanti ces colonnes samedi."),
        ("Il a dit : « Nous partons. »", "Il a dit : « Nous partons. »"),
        ("ces colonnes samedi. »", "ces colonnes samedi."),
        ("« Nous partons. »", "« Nous partons. »"),
        ('"We leave," he said.', '"We leave," he said.'),
        ('"We leave now.', "We leave now."),
    ],
)
def test_a_quote_cut_out_of_a_longer_quotation_loses_its_unpaired_mark(quote: str, shown: str) -> None:
    assert chat_view.shown_quote(quote) == shown


def test_the_highlight_leaves_out_an_unpaired_opening_mark() -> None:
    quote = "« Nos forces ont anéanti ces colonnes samedi."
    passage = f"Les troupes ont subi de lourdes pertes. {quote} » Fin."
    start = passage.index(quote)
    cut = Citation(1, "p1", "doc", "Titre", "Titre", 0, quote, start, start + len(quote), passage, 0)
    bold = re.search(r"\*\*(.*?)\*\*", chat_view.citation_markdown(cut, "fr").split("\n\n", 2)[-1])
    assert bold and _unescape(bold.group(1)) == "Nos forces ont anéanti ces colonnes samedi."


def test_citation_panel_highlights_the_quote_and_says_where_it_is() -> None:
    panel = chat_view.citation_markdown(_citation(4), "fr")
    assert panel.startswith("**\\[4\\]** · *Titre \\*gras\\**\n")
    assert "Section : Section" in panel and "paragraphe 3" in panel
    bold = re.search(r" \*\*(« Nos.*?»)\*\* ", panel)
    assert bold and _unescape(bold.group(1)) == QUOTE
    assert QUOTE in _unescape(panel)


def test_an_abstained_answer_links_the_nearest_passage() -> None:
    nearest = Passage("p1", "doc", "Titre", "Un passage.", 0, 11, "", 0, 0)
    answer = _answer(answer="L'article ne le dit pas.", abstained=True, retrieved=[nearest], language="fr",
                     notice="The question was cut to its first 2000 characters.")
    content = chat_view.answer_markdown(answer)
    assert content.startswith("L\\'article ne le dit pas\\.")
    assert "Passage le plus proche : [1]" in content and "Remarque" in content
    assert [p.name for p in chat_view.answer_panels(answer)] == ["[1]"]


def test_first_quote_and_starters_follow_the_language() -> None:
    text = "Il a dit « Nos forces ont anéanti ces colonnes de l’ennemi samedi. Un autre. » Fin."
    quote = chat_view.first_quote([text])
    assert quote == "Nos forces ont anéanti ces colonnes de l’ennemi samedi."
    fr = chat_view.starters("fr", quote)
    en = chat_view.starters("en", quote)
    assert fr[-1] == ("Qui a dit « Nos forces ont anéanti ces… » ?", quote, "citation")  # what the click sends
    assert en[-1][2] == "lookup" and en[0][0] == "What is the article about?"
    assert chat_view.ui_language("fr-FR") == "fr" and chat_view.ui_language("de-DE") == "en"


def test_llm_failures_are_told_apart_from_bugs() -> None:
    class APIConnectionError(Exception):
        pass

    assert "language model" in chat_view.failure_reason(APIConnectionError("x"), "en")
    assert "internal error" in chat_view.failure_reason(ValueError("x"), "en")


def test_a_reply_cut_off_at_the_length_limit_is_said_plainly_not_as_an_internal_error() -> None:
    cut = LLMCutOff('the LLM at http://127.0.0.1:1/v1 stopped at the token limit: {"claims": [{"te', raw="{")
    for language, words in (("en", "length limit"), ("fr", "longueur maximale")):
        reason = chat_view.failure_reason(cut, language)
        assert words in reason and "internal" not in reason and "interne" not in reason
        assert "127.0.0.1" not in reason and "claims" not in reason  # no URL, no raw JSON for the reader
    raw_openai_error = openai.LengthFinishReasonError(completion=_cut_completion())
    assert "length limit" in chat_view.failure_reason(raw_openai_error, "en")


def test_other_user_errors_keep_their_own_words() -> None:
    assert chat_view.failure_reason(UserError("no articles in store x"), "en") == "no articles in store x"


def _cut_completion() -> ChatCompletion:
    return ChatCompletion.model_validate({
        "id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "{"}, "finish_reason": "length"}],
    })  # fmt: skip


# ------------------------------------------------------------------------------------------------------------
# Committed Chainlit files


def _keys(tree: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in tree.items():
        keys |= _keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return keys


def test_config_keeps_html_and_math_off_and_takes_every_upload_for_the_assistant_to_judge() -> None:
    config = tomllib.loads((REPO / ".chainlit" / "config.toml").read_text(encoding="utf-8"))
    features = config["features"]
    assert features["unsafe_allow_html"] is False and features["latex"] is False
    assert features["user_message_markdown"] is False
    upload = features["spontaneous_file_upload"]
    # Chainlit's own refusals are English toasts: every type reaches the assistant, which refuses in the UI language.
    assert upload["enabled"] is True and upload["accept"] == ["*/*"] and upload["max_size_mb"] >= 50
    assert config["project"]["allow_origins"] == []
    assert config["UI"]["name"] == "Article Assistant"
    assert json.loads((REPO / "public" / "theme.json").read_text())["custom_fonts"] == []


def test_every_chainlit_translation_is_committed_so_chainlit_writes_none() -> None:
    shipped = {p.name for p in (CHAINLIT_PACKAGE / "translations").glob("*.json")}
    committed = {p.name for p in (REPO / ".chainlit" / "translations").glob("*.json")}
    assert shipped <= committed
    truth = _keys(json.loads((CHAINLIT_PACKAGE / "translations" / "en-US.json").read_text(encoding="utf-8")))
    for name in ("en-US.json", "fr-FR.json"):
        ours = json.loads((REPO / ".chainlit" / "translations" / name).read_text(encoding="utf-8"))
        assert _keys(ours) == truth, name
    assert (REPO / "chainlit.md").is_file() and (REPO / "chainlit_fr-FR.md").is_file()


def test_the_served_page_asks_for_nothing_outside_the_machine() -> None:
    page = (CHAINLIT_PACKAGE / "frontend" / "dist" / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" in page and "cdn.jsdelivr.net" in page  # what Chainlit 2.12 ships
    cleaned = strip_remote_assets(page)
    assert not re.search(r"(?:href|src)=\"(?:https?:)?//", cleaned)
    assert '<script type="module" crossorigin src="/assets/' in cleaned
