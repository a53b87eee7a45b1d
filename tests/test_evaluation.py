"""How an evaluation scores answers: what counts as wrong shown, and where each miss is put down as lost.

These are the figures every decision on the broad set is taken from, so they are checked here on answers written
by hand (the chain itself is run in ``test_chain.py`` and ``test_multi_article.py``).
"""

from __future__ import annotations

from assistant.answer.answers import Answer, DraftRecord
from assistant.evaluation import Case, Outcome, Report, judge
from ingest.articles import Passage

ARTICLE = "Le marché de Gao sera reconstruit. Les travaux commenceront avant la saison des pluies."
FIRST = Passage("p1", "gao", "Gao", ARTICLE[:34], 0, 34, "", 0, 0)
SECOND = Passage("p2", "gao", "Gao", ARTICLE[35:], 35, len(ARTICLE), "", 0, 1)
WHEN = Case(
    id="q1",
    lang="fr",
    question="Quand les travaux commenceront-ils ?",
    gold=("Les travaux commenceront avant la saison des pluies.",),
    answer_any=(("avant la saison des pluies",),),
    answerable=True,
    kind="same-language",
)
FALSE_PREMISE = Case("q2", "fr", "Quand le stade de Gao sera-t-il reconstruit ?", (), (), False, "unanswerable")


def _draft(text: str, passage: Passage, **verdicts: str | None) -> DraftRecord:
    return DraftRecord(text, text, passage.doc_id, passage.start, passage.end, passage.text, dict(verdicts))


def _answer(text: str, drafts: list[DraftRecord], *, read: list[Passage], abstained: bool = False) -> Answer:
    return Answer(WHEN.question, WHEN.question, "fr", text, abstained, retrieved=[FIRST], read=read, drafts=drafts)


def _judge(case: Case, answer: Answer) -> Outcome:
    return judge(case, answer, lambda doc_id: ARTICLE)


def test_a_miss_is_put_down_to_retrieval_only_when_the_model_never_read_the_answer_s_sentence() -> None:
    """Retrieval found the first sentence only; read whole, the short article still showed the model the second."""
    dropped = [_draft("avant la saison des pluies", SECOND, judged_to_answer="the evidence does not answer")]
    refused = _judge(WHEN, _answer("L'article ne le dit pas.", dropped, read=[FIRST, SECOND], abstained=True))
    assert not refused.retrieved and refused.read
    assert refused.lost == "verification"
    unseen = _judge(WHEN, _answer("L'article ne le dit pas.", [], read=[FIRST], abstained=True))
    assert unseen.lost == "not retrieved"
    declined = _judge(WHEN, _answer("L'article ne le dit pas.", [], read=[FIRST, SECOND], abstained=True))
    assert declined.lost == "model"


def test_an_answer_shown_that_is_not_right_is_wrong_shown_and_a_refused_false_premise_is_not() -> None:
    wrong = _judge(WHEN, _answer("Le marché de Gao [1]", [_draft("Le marché de Gao", FIRST)], read=[FIRST, SECOND]))
    assert wrong.wrong_shown and wrong.lost == "model"
    right = _judge(WHEN, _answer("Avant la saison des pluies [1]", [], read=[FIRST, SECOND]))
    assert right.correct and not right.wrong_shown and right.lost is None
    answered = _judge(FALSE_PREMISE, _answer("Avant la saison des pluies [1]", [], read=[FIRST, SECOND]))
    assert answered.wrong_shown and answered.lost == "verification"
    refused = _judge(FALSE_PREMISE, _answer("L'article ne le dit pas.", [], read=[FIRST], abstained=True))
    assert not refused.wrong_shown and refused.lost is None


def test_the_ablation_shows_what_an_answer_would_have_been_without_each_check() -> None:
    dropped = [_draft("avant la saison des pluies", SECOND, judged_to_answer="the evidence does not answer")]
    outcome = _judge(WHEN, _answer("L'article ne le dit pas.", dropped, read=[FIRST, SECOND], abstained=True))
    rows = {row["checks"]: row for row in Report([outcome]).ablation()}
    assert rows["all checks"]["correct"] == "0/1"
    assert rows["without judged_to_answer"]["correct"] == "1/1"
    assert rows["without judged_to_state_the_answer"]["correct"] == "0/1"
