"""Questions that ask what an article is about (« De quoi parle l'article ? », "Summarise the article"): answered
with a few of the article's own sentences, each cited, instead of one copied span.

Asked the chat's first starter, « De quoi parle l'article ? », the model copied one sentence and the answer was
that one claim. A summary here is extractive: its claims are whole sentences of the article, so each quote states
its claim letter for letter and no judge needs to read it (the judges ask whether a passage answers a question, and
"what is the article about?" is answered by no one passage). The sentences are the article's lead, which in a news
article says what happened, and the most central sentence of each of the article's other main themes, found by
clustering the passages' stored vectors: a summary of the whole article, not of its first lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from assistant.answer.checks import gives_orders
from assistant.answer.evidence import Evidence, number_evidence
from assistant.answer.render import ends_a_sentence
from assistant.text.lexicon import ENGLISH_FUNCTION_WORDS, FRENCH_FUNCTION_WORDS, QUESTION_WORDS
from assistant.text.normalise import tokenize
from ingest.articles import Passage
from ingest.store import PassageStore

Embed = Callable[[list[str]], list[list[float]]]

#: Sentences in a summary: the lead and the central sentence of up to three themes.
SUMMARY_SENTENCES = 4
#: Sentences shorter than this are headings or fragments; longer ones would make the summary a wall of text, which
#: is at most 4 × 300 characters.
SHORTEST_SENTENCE, LONGEST_SENTENCE = 40, 300

_ASKS_FOR_A_SUMMARY = re.compile(
    # asked for in the imperative, the infinitive or by the noun; not "Qui a résumé la situation ?"
    r"(?:^|[.!?:]\s+)(?:r[ée]sum(?:e|ez|é)|synth[ée]tise[zr]?|summari[sz]e|summary|sum (?:it |this )?up|tl;?dr)\b"
    r"|\b(?:r[ée]sumer|synth[ée]tiser|summari[sz]e|sum (?:it |this |the \w+ )?up)\b"
    r"|\b(?:un|le|ton|votre|en|bref|court|petit)\s+r[ée]sum[ée]\b|\b(?:une|ta|votre|en)\s+synth[èe]se\b"
    r"|\b(?:a|an|the|your|short|brief|quick)\s+(?:summary|overview|gist)\b"
    r"|\b(?:de|sur) quoi (?:parle|traite|porte)"
    # what the article says, as a whole question: "What does the article say about Wagner?" asks a fact
    r"|\b(?:que|qu['’]est-ce que) (?:dit|raconte) (?:l['’]|le |ce |cet |cette )(?:article|texte|document|page)\W*$"
    r"|\bwhat(?:['’]s| is)? (?:this|it) (?:all )?about\W*$"
    r"|\bwhat(?:['’]s| is| does)? (?:this|the|that) (?:article|text|story|piece|document|page)(?: \w+){0,2} "
    r"(?:about|say)\W*$"
    r"|\b(?:main|key) (?:points?|ideas?|facts?|takeaways?)\b"
    r"|\b(?:points?|idées?) (?:clés?|essentiel(?:le)?s?|principa(?:l|les|ux))\b"
    r"|\b(?:sujet|thème) (?:principal )?(?:de|du) (?:l['’]|cet |ce |cette )?(?:article|texte|document)\b",
    re.IGNORECASE,
)
#: Words of a summary request that do not name what to summarise.
_REQUEST_WORDS = frozenset(
    """article articles texte text document page story piece fais faites fait moi me please peux pouvez can could
    you tu vous give donne donnez stp svp brief bref court short en quelques mots lines lignes phrases sentences
    sujet thème subject topic about say dit raconte parle traite porte""".split()
)
#: A sentence whose subject is a pronoun or a demonstrative, at its start or after an opening phrase (« Il fut
#: soupçonné… », « Sorcier d'ascendance moldue, il est… », "They adopted…"): it names no one without the sentence
#: before it, which a summary does not show.
_LEANS_ON_THE_SENTENCE_BEFORE = re.compile(
    r"^(?:[^,]{0,60},\s*)?(?:(?:il|elle|ils|elles|ce|cet|cette|ces|celui|celle|ceux|celles|cela|ceci|he|she|it|they|"
    r"this|these|those|his|her|its|their)\b|c['’])",
    re.IGNORECASE,
)


def asks_for_a_summary(question: str) -> bool:
    """Whether the question asks what an article is about rather than a fact in it. None of the 352 questions of
    ``../shared/eval/external-dev/`` nor the seed's 22 does."""
    return bool(_ASKS_FOR_A_SUMMARY.search(question))


def summary_subject(question: str) -> str:
    """The words of a summary request that name which article ("Summarise the article about Moscow" → "moscow"),
    empty when it names none ("What is the article about?")."""
    request = _ASKS_FOR_A_SUMMARY.sub(" ", question)
    ignored = FRENCH_FUNCTION_WORDS | ENGLISH_FUNCTION_WORDS | QUESTION_WORDS | _REQUEST_WORDS
    return " ".join(word for word in tokenize(request) if word not in ignored)


def summary_sentences(article: Sequence[Passage], vectors: Sequence[Sequence[float]], embed: Embed) -> list[Evidence]:
    """The sentences that summarise an article, in its order: its first sentence (the lead) and, for each of up to
    three clusters of its passages' ``vectors``, the sentence of the passage nearest the cluster's centre that is
    itself nearest it (``embed`` reads only those passages' sentences, so a long article costs no more).

    Only sentences a reader can take alone are shown: whole sentences (not headings), of 40 to 300 characters, the
    article's title left out, none whose subject is a pronoun, and never one that gives orders to an assistant."""
    sentences = [item for item in number_evidence(article) if shown_alone(item)]
    if len(sentences) <= SUMMARY_SENTENCES:
        return sentences
    from sklearn.cluster import KMeans  # here, not at the top: importing it takes a second every command would pay

    chosen = [sentences[0]]
    choices: dict[str, list[Evidence]] = {p.id: [] for p in article}
    for sentence in sentences[1:]:
        choices[sentence.passage.id].append(sentence)
    rows = [i for i, passage in enumerate(article) if choices[passage.id]]
    points = _unit(np.asarray([vectors[i] for i in rows], dtype=float))
    themes = min(SUMMARY_SENTENCES - 1, len(rows))
    clusters = KMeans(themes, n_init=10, random_state=0).fit(points)
    for theme, centre in enumerate(clusters.cluster_centers_):
        members = [j for j in range(len(rows)) if clusters.labels_[j] == theme]
        for j in sorted(members, key=lambda j: -float(points[j] @ centre)):
            left = [s for s in choices[article[rows[j]].id] if s not in chosen]
            if left:
                chosen.append(_nearest(left, centre, embed))
                break
    return sorted(chosen, key=lambda s: s.start)


def passage_vectors(store: PassageStore, article: Sequence[Passage]) -> list[list[float]]:
    """The vector of each of an article's passages: the one stored at ingest, embedded again only when missing."""
    stored = store.stored_vectors(article[0].doc_id) if article else {}
    missing = [p.text for p in article if p.text not in stored]
    stored.update(zip(missing, store.embedder.embed_documents(missing), strict=True))
    return [stored[p.text] for p in article]


def shown_alone(item: Evidence) -> bool:
    """Whether a sentence can stand alone in a summary (see :func:`summary_sentences`)."""
    text = item.text.strip()
    return (
        SHORTEST_SENTENCE <= len(text) <= LONGEST_SENTENCE
        and ends_a_sentence(text)
        and text != item.passage.title.strip()
        and not _LEANS_ON_THE_SENTENCE_BEFORE.search(text)
        and not gives_orders(text)
    )


def _nearest(sentences: list[Evidence], centre: np.ndarray, embed: Embed) -> Evidence:
    if len(sentences) == 1:
        return sentences[0]
    vectors = _unit(np.asarray(embed([s.text for s in sentences]), dtype=float))
    return sentences[int(np.argmax(vectors @ centre))]


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
