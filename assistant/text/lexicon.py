"""The French and English words the checks in code rely on, in one place.

Each list serves one reading of a text: which language a question is in (function words, and the particles that
belong to names rather than to the sentence), and how an article reports speech (reporting verbs, roles,
determiners).
Lists written as regular-expression alternatives (``a|b|c``) are used inside the patterns of the module that reads
them; the patterns themselves stay with their check. The passage splitter's abbreviations live in
``ingest.spans``: ingest imports nothing from the assistant.
"""

from __future__ import annotations

#: Function words that tell French from English (:func:`assistant.text.language.detect_language`).
FRENCH_FUNCTION_WORDS = frozenset(
    """le la les un une des du de d l au aux et ou est sont a ont qui que quoi quel quelle quels quelles
    quand comment pourquoi où combien dans sur pour par avec sans ce cette ces son sa ses leur leurs il elle
    ils elles on nous vous je tu ne pas plus se s qu c été être avoir fait selon depuis lors vers entre
    chez dit y en mais donc car très aussi tout tous toute toutes est-ce peut-on""".split()
)
ENGLISH_FUNCTION_WORDS = frozenset(
    """the a an and or is are was were be been has have had who what which when where why how many much
    in on for by with without this that these those his her its their it they we you i not no more do
    does did of to from at as according since about into did can could would should will whom whose
    there any""".split()
)

#: Lowercase words found inside names of people, places and institutions ("Maria de la Queillerie", "Rue du
#: Vieux-Colombier", "Bank of England"): between two capitalised words they are part of the name.
NAME_PARTICLES = frozenset(
    """de la le du des d von van der den di da del della dos das y of the al el bin ibn ben""".split()
)

#: The months, January first, in each language: a year is a date's last word (:func:`assistant.answer.checks.locate`),
#: and a copied date is rewritten in the reader's language (:mod:`assistant.answer.translation`).
MONTHS = {
    "en": "January February March April May June July August September October November December".split(),
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(),
}

#: French (and a few English) reporting verbs, present and past participle, as regular-expression alternatives.
REPORTING_VERBS_PRESENT = (
    r"dit|déclare|écrit|affirme|indique|précise|ajoute|explique|souligne|assure|estime|annonce|poursuit|conclut|"
    r"lance|martèle|insiste|témoigne|raconte|confie|rapporte|commente|répond|prévient|avertit|note|observe|relève|"
    r"résume|tranche|déplore|regrette|dénonce|reconnaît|admet|rappelle|promet|interroge|s['’]interroge|"
    r"s['’]insurge|s['’]indigne|s['’]exclame"
)
REPORTING_VERBS_PAST = (
    r"dit|déclaré|écrit|affirmé|indiqué|précisé|ajouté|expliqué|souligné|assuré|estimé|annoncé|poursuivi|conclu|"
    r"lancé|martelé|insisté|témoigné|raconté|confié|rapporté|commenté|répondu|prévenu|averti|noté|observé|relevé|"
    r"résumé|tranché|déploré|regretté|dénoncé|reconnu|admis|rappelé|promis|revendiqué|proposé|qualifié|jugé|"
    r"démenti|accusé|évoqué|publié|posté|tweeté"
)
#: Subject pronouns of an inverted reporting verb (``écrit-il``).
SUBJECT_PRONOUNS = r"il|elle|ils|elles|on"
#: Roles that name a person who can speak (``un porte-parole``, ``le ministre``).
PERSON_ROLES = (
    r"porte-parole|président|présidente|ministre|chef|cheffe|responsable|dirigeant|dirigeante|commandant|général|"
    r"colonel|capitaine|lieutenant|directeur|directrice|secrétaire|ambassadeur|ambassadrice|représentant|"
    r"représentante|officier|conseiller|conseillère|député|députée|sénateur|sénatrice|maire|gouverneur|juge|"
    r"procureur|procureure|avocat|avocate|témoin|habitant|habitante|expert|experte|analyste|chercheur|chercheuse|"
    r"journaliste|militant|militante|leader|émir|imam|roi|reine|premier ministre|"
    r"spokesperson|spokesman|spokeswoman|president|minister|official|leader|commander|ambassador"
)
DETERMINERS = r"(?:un|une|le|la|les|l['’]|son|sa|ses|leur|leurs|des|du|ce|cet|cette|the|a|an)"
#: Words that start a capitalised run without being part of a name.
NAME_STOP_WORDS = {
    "le", "la", "les", "l", "un", "une", "des", "dans", "en", "au", "aux", "pour", "selon", "avec", "the"
}  # fmt: skip

#: The words that spell each figure, approximate counts included (« une quinzaine », "a dozen"): the model asked to
#: copy often writes the figure instead (:func:`assistant.answer.checks.spelled_out`). "One" and « un » are left
#: out: they are articles far more often than counts.
NUMBER_WORDS = {
    figure: tuple(words.split())
    for figure, words in (
        ("2", "deux two"), ("3", "trois three"), ("4", "quatre four"), ("5", "cinq five"),
        ("6", "six"), ("7", "sept seven"), ("8", "huit eight"), ("9", "neuf nine"), ("10", "dix dizaine ten"),
        ("11", "onze eleven"), ("12", "douze douzaine twelve dozen"), ("13", "treize thirteen"),
        ("14", "quatorze fourteen"), ("15", "quinze quinzaine fifteen"), ("16", "seize sixteen"),
        ("20", "vingt vingtaine twenty"), ("30", "trente trentaine thirty"), ("40", "quarante quarantaine forty"),
        ("50", "cinquante cinquantaine fifty"), ("100", "cent centaine hundred"), ("1000", "mille millier thousand"),
    )
}  # fmt: skip

#: The ordinal words of each figure, French and English: a question's "3rd" or « 3e » is stated by a sentence that
#: writes "third" or « troisième » (:func:`assistant.answer.checks.states_the_question_figures`).
ORDINAL_WORDS = {
    figure: tuple(words.split())
    for figure, words in (
        ("1", "first premier première"), ("2", "second seconde deuxième"), ("3", "third troisième"),
        ("4", "fourth quatrième"), ("5", "fifth cinquième"), ("6", "sixth sixième"), ("7", "seventh septième"),
        ("8", "eighth huitième"), ("9", "ninth neuvième"), ("10", "tenth dixième"),
    )
}  # fmt: skip

#: The words a French or English question opens with: a question in two parts joined by "and"/« et » opens each
#: part with one (:func:`assistant.answer.checks.question_parts`).
QUESTION_WORDS = frozenset(
    "qui que quoi quel quelle quels quelles où quand comment combien pourquoi who what which where when how why whom "
    "whose".split()
)

#: Words that refer back to the conversation (pronouns, demonstratives, "then", « là »): a follow-up's rewrite
#: replaces them; every other word of the follow-up must survive it (:func:`assistant.answer.chain.keeps_the_question`).
REFERRING_WORDS = frozenset(
    """he she him her hers it its they them their theirs this that these those there then one ones else
    too also so what which who whom whose how and but or the a an of to in on at by for with did does do is are
    was were has have had about
    il elle ils elles lui eux leur leurs celui celle ceux celles cela ca ce cet cette ces son sa ses y en la
    alors aussi et mais ou donc le les un une des du de au aux est sont a ont qui que quoi quel quelle quels
    quelles""".split()
)
