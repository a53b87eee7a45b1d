"""Every string the chat and the answers show a user, one dictionary per language with the same keys.

The answer stage returns some of them itself (the refusal, the notice of a cut question), so the
catalogue sits below every stage that shows text rather than beside the chat. Strings with ``{placeholders}`` are
filled with ``str.format`` where they are used.
"""

from __future__ import annotations

from assistant.text.language import Language

CATALOGUE: dict[Language, dict[str, str]] = {
    "fr": {
        # Step names must stay ASCII: Chainlit 2.12 asks /avatars/<step name> and rejects other characters (HTTP 400).
        "rewrite": "Reformulation de la question",
        "retrieve": "Recherche des passages",
        "translate": "Question traduite dans la langue de l'article",
        "nearest": "Passage le plus proche",
        "section": "Section",
        "paragraph": "paragraphe",
        "page": "page",
        "characters": "caractères",
        "notice": "Remarque",
        "exact": "Trouvé tel quel dans l'article",
        "approximate": "Trouvé avec quelques différences (similarité {score})",
        "translation": "Correspondance probable, par le sens (traduction ; similarité {score})",
        "not_found": "Introuvable : ce texte n'apparaît pas dans les articles enregistrés.",
        "original": "Texte original",
        "speaker": "Qui parle",
        "no_speaker": "L'article n'attribue pas ce passage à une personne : c'est sa propre narration.",
        "lookup_empty": "Collez après /{command} la phrase ou la citation à retrouver dans l'article.",
        "error": "Désolé, je n'ai pas pu répondre : {reason}",
        "llm_down": "le modèle de langue ne répond pas ({detail}). Vérifiez qu'il tourne, puis reposez la question.",
        "internal": "erreur interne ({detail}). Reposez la question ; si elle revient, voyez le journal du serveur.",
        "cut_off": "la réponse du modèle a atteint sa longueur maximale avant d'être complète, elle ne peut donc pas "
        "être vérifiée. Reposez la question, plus courte ou plus précise.",
        "lookup_command": "Vérifier une citation : où est-elle dans l'article, qui parle ?",
        "lookup_id": "citation",
        "refusal": "L'article ne le dit pas.",
        "question_cut": "La question a été coupée à ses {limit} premiers caractères.",
        "part_not_answered": "L'article ne répond pas à : {part}",
        "lookup_cut": "Le texte a été coupé à ses {limit} premiers caractères.",
        "starter_about": "De quoi parle l'article ?",
        "starter_events": "Que s'est-il passé, où et quand ?",
        "starter_quoted_label": "Qui est cité, et que dit-il ?",
        "starter_quoted": "Qui est cité dans l'article, et que dit-il ?",
        "starter_quote_check": "Qui a dit cette phrase ?",
    },
    "en": {
        "rewrite": "Rewritten question",
        "retrieve": "Retrieved passages",
        "translate": "Question in the article's language",
        "nearest": "Nearest passage",
        "section": "Section",
        "paragraph": "paragraph",
        "page": "page",
        "characters": "characters",
        "notice": "Note",
        "exact": "Found word for word in the article",
        "approximate": "Found with a few differences (similarity {score})",
        "translation": "Probable match by meaning (translation; similarity {score})",
        "not_found": "Not found: this text does not appear in the stored articles.",
        "original": "Original text",
        "speaker": "Speaker",
        "no_speaker": "The article does not attribute this passage to anyone: it is the article's own narration.",
        "lookup_empty": "Paste after /{command} the sentence or quote to find in the article.",
        "error": "Sorry, I could not answer: {reason}",
        "llm_down": "the language model is not answering ({detail}). Check that it is running, then ask again.",
        "internal": "internal error ({detail}). Ask again; if it happens again, see the server log.",
        "cut_off": "the model's reply reached its length limit before it was complete, so it cannot be verified. "
        "Ask again, with a shorter or more precise question.",
        "lookup_command": "Check a quote: where is it in the article, who is speaking?",
        "lookup_id": "lookup",
        "refusal": "The article does not say.",
        "question_cut": "The question was cut to its first {limit} characters.",
        "part_not_answered": "The article does not answer: {part}",
        "lookup_cut": "The text was cut to its first {limit} characters.",
        "starter_about": "What is the article about?",
        "starter_events": "What happened, where and when?",
        "starter_quoted_label": "Who is quoted, and what do they say?",
        "starter_quoted": "Who is quoted in the article, and what do they say?",
        "starter_quote_check": "Who said this?",
    },
}
