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
        "notice": "Remarque",
        "exact": "Trouvé tel quel dans l'article",
        "approximate": "Trouvé avec quelques différences (similarité {score})",
        "translation": "Correspondance probable, par le sens (traduction ; similarité {score})",
        "not_found": "Introuvable : ce texte n'apparaît pas dans les articles enregistrés.",
        "original": "Texte original",
        "speaker": "Qui parle",
        "no_speaker": "L'article n'attribue pas ce passage à une personne : c'est sa propre narration.",
        "unnamed_speaker": "L'article cite ce passage entre guillemets, mais qui le dit n'a pas pu être établi : "
        "lisez le paragraphe.",
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
        "summary_newest": "C'est le dernier article ajouté, « {title} » ; pour en résumer un autre, nommez-le : "
        "« Résume l'article sur … ».",
        "summary_untranslated": "L'article est en anglais : ses phrases sont citées telles quelles, car une traduction "
        "ne pourrait pas être vérifiée sur elles.",
        "part_not_answered": "L'article ne répond pas à : {part}",
        "lookup_cut": "Le texte a été coupé à ses {limit} premiers caractères.",
        "starter_about": "De quoi parle l'article ?",
        "starter_events": "Que s'est-il passé, où et quand ?",
        "starter_quoted_label": "Qui est cité, et que dit-il ?",
        "starter_quoted": "Qui est cité dans l'article, et que dit-il ?",
        "starter_quote_check": "Qui a dit « {quote} » ?",
        "upload_reading": "Lecture de {names}…",
        "upload_embedding": "Ajout de {names} : {done} passages sur {total} indexés…",
        "upload_waiting": "Une réponse ou un autre ajout est en cours : {names} sera ajouté juste après.",
        "upload_new": "« {title} » ajouté ({passages}) ; posez vos questions.",
        "upload_replaced": "« {title} » remplacé par sa nouvelle version ({passages}) ; posez vos questions.",
        "upload_unchanged": "« {title} » est déjà chargé, à l'identique : rien n'a changé.",
        "upload_failed": "{name} n'a pas été ajouté : {reason} Les articles chargés n'ont pas changé.",
        "upload_off": "L'ajout d'articles dans le chat est désactivé quand la connexion est activée, car les articles "
        "sont partagés par tous : un administrateur les ajoute avec `assistant ingest`, ou active "
        "`ASSISTANT_SHARED_UPLOADS`.",
        "upload_too_many": "Au plus {limit} fichiers à la fois ; envoyez les autres dans un second message.",
        "pasted_source": "texte collé dans le chat",
        "why_unsupported": "ce type de fichier n'est pas lu ; envoyez un .txt, .md, .html ou .pdf.",
        "why_too_big": "le fichier est trop volumineux pour un article ; découpez-le ou envoyez seulement l'article.",
        "why_empty": "le fichier ne contient aucun texte ; vérifiez que c'est bien l'article.",
        "why_encoding": "le texte n'est pas en UTF-8 ; enregistrez-le en UTF-8 puis renvoyez-le.",
        "why_binary": "ce n'est pas un fichier texte ; envoyez un .txt, .md, .html ou .pdf.",
        "why_no_text_layer": "ce PDF n'a pas de couche texte (c'est un scan ou des images de pages) ; passez-le "
        "d'abord dans un logiciel de reconnaissance de texte (OCR, par exemple ocrmypdf).",
        "why_encrypted": "ce PDF est protégé par un mot de passe ; enregistrez-en une copie sans mot de passe.",
        "why_damaged_pdf": "ce PDF est illisible ou incomplet ; téléchargez-le de nouveau.",
        "why_no_article": "la page ne contient pas d'article (formulaire de connexion, accès réservé aux abonnés, "
        "page d'accueil ou liste de liens ?) ; donnez l'adresse de l'article lui-même, ou copiez son texte dans un "
        "fichier .txt.",
        "why_redirects": "l'adresse redirige sans fin ; ouvrez-la dans un navigateur et donnez l'adresse finale.",
        "why_not_http": "seules les adresses http:// et https:// sont lues.",
        "why_private_url": "cette adresse est sur un réseau privé ou local, que le chat ne lit pas ; enregistrez la "
        "page et envoyez le fichier.",
        "why_not_article_type": "l'adresse ne mène pas à une page d'article (HTML, texte ou PDF).",
        "why_http_status": "le site a répondu par une erreur ; vérifiez l'adresse, ou enregistrez la page et "
        "envoyez le fichier.",
        "why_unreachable": "le site ne répond pas ; vérifiez l'adresse, ou réessayez plus tard.",
        "why_store_busy": "un autre ajout d'articles est en cours sur ce serveur ; réessayez dans un instant.",
        "why_duplicate_name": "deux fichiers portent le même nom ; renommez l'un d'eux.",
        "why_other": "{detail}",
        "welcome_articles": "Articles chargés",
        "this_browser": "Ce navigateur",
        "sources": "Sources",
        "history_not_saved": "L'historique n'a pas pu être enregistré (base de données verrouillée ou endommagée) : "
        "la conversation continue, mais un rechargement pourrait ne pas la retrouver.",
        "regenerate": "Régénérer",
        "regenerate_tip": "Reposer la même question aux articles chargés maintenant",
        "welcome_none": "Aucun article n'est chargé.",
        "welcome_added": "ajouté le {date}",
        "welcome_how": "Pour ajouter un article, déposez un fichier (.txt, .md, .html, .pdf) dans le chat, "
        "joignez-le avec le trombone, ou envoyez l'adresse (URL) de sa page.",
    },
    "en": {
        "rewrite": "Rewritten question",
        "retrieve": "Retrieved passages",
        "translate": "Question in the article's language",
        "nearest": "Nearest passage",
        "section": "Section",
        "paragraph": "paragraph",
        "page": "page",
        "notice": "Note",
        "exact": "Found word for word in the article",
        "approximate": "Found with a few differences (similarity {score})",
        "translation": "Probable match by meaning (translation; similarity {score})",
        "not_found": "Not found: this text does not appear in the stored articles.",
        "original": "Original text",
        "speaker": "Speaker",
        "no_speaker": "The article does not attribute this passage to anyone: it is the article's own narration.",
        "unnamed_speaker": "The article quotes this passage, but who says it could not be established: read the "
        "paragraph.",
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
        "summary_newest": "This is the article added last, “{title}”; to summarise another, name it: “Summarise the "
        "article about …”.",
        "summary_untranslated": "The article is in French: its sentences are quoted as written, since a translation "
        "could not be checked against them.",
        "part_not_answered": "The article does not answer: {part}",
        "lookup_cut": "The text was cut to its first {limit} characters.",
        "starter_about": "What is the article about?",
        "starter_events": "What happened, where and when?",
        "starter_quoted_label": "Who is quoted, and what do they say?",
        "starter_quoted": "Who is quoted in the article, and what do they say?",
        "starter_quote_check": "Who said “{quote}”?",
        "upload_reading": "Reading {names}…",
        "upload_embedding": "Adding {names}: {done} of {total} passages indexed…",
        "upload_waiting": "An answer or another upload is in progress: {names} will be added right after it.",
        "upload_new": "“{title}” added ({passages}); ask about it.",
        "upload_replaced": "“{title}” replaced by its new version ({passages}); ask about it.",
        "upload_unchanged": "“{title}” is already loaded, unchanged: nothing was added.",
        "upload_failed": "{name} was not added: {reason} The loaded articles are unchanged.",
        "upload_off": "Adding articles in the chat is off when sign-in is on, because articles are shared by "
        "everyone: an administrator adds them with `assistant ingest`, or turns on `ASSISTANT_SHARED_UPLOADS`.",
        "upload_too_many": "At most {limit} files at a time; send the others in a second message.",
        "pasted_source": "text pasted in the chat",
        "why_unsupported": "this type of file is not read; send a .txt, .md, .html or .pdf file.",
        "why_too_big": "the file is too large for one article; split it or send only the article.",
        "why_empty": "the file holds no text; check that it is the article.",
        "why_encoding": "the text is not UTF-8; save it as UTF-8 and send it again.",
        "why_binary": "this is not a text file; send a .txt, .md, .html or .pdf file.",
        "why_no_text_layer": "this PDF has no text layer (it is a scan or images of pages); run it through text "
        "recognition (OCR, e.g. ocrmypdf) first.",
        "why_encrypted": "this PDF is password-protected; save a copy without a password.",
        "why_damaged_pdf": "this PDF cannot be read or is incomplete; download it again.",
        "why_no_article": "the page holds no article (a login form, a subscribers-only page, a home page or a list of "
        "links?); give the address of the article itself, or copy its text into a .txt file.",
        "why_redirects": "the address redirects without end; open it in a browser and give the final address.",
        "why_not_http": "only http:// and https:// addresses are read.",
        "why_private_url": "this address is on a private or local network, which the chat does not read; save the "
        "page and send the file.",
        "why_not_article_type": "the address does not lead to an article page (HTML, text or PDF).",
        "why_http_status": "the site answered with an error; check the address, or save the page and send the file.",
        "why_unreachable": "the site is not answering; check the address, or try again later.",
        "why_store_busy": "another upload of articles is in progress on this server; try again in a moment.",
        "why_duplicate_name": "two files have the same name; rename one of them.",
        "why_other": "{detail}",
        "welcome_articles": "Loaded articles",
        "this_browser": "This browser",
        "sources": "Sources",
        "history_not_saved": "The chat history could not be saved (database locked or damaged): the chat goes on, "
        "but a reload may not find it.",
        "regenerate": "Regenerate",
        "regenerate_tip": "Ask the same question again of the articles loaded now",
        "welcome_none": "No article is loaded.",
        "welcome_added": "added {date}",
        "welcome_how": "To add an article, drop a file (.txt, .md, .html, .pdf) in the chat, attach it with the "
        "paper clip, or send the address (URL) of its page.",
    },
}
