"""A loopback news site and the PDFs users bring: what the URL, upload and PDF tests read.

The page is built like a real news page (cookie banner, navigation, byline, related links, an ad, comments,
footer) around a short article, so a test can assert what ingest keeps and what it leaves out. The site also
serves the bad pages a user may give: a login form, a paywall, a redirect loop, a 50 MB body, an image, a 404.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Sentences of the article (kept by ingest) and of the page's furniture (left out), for assertions.
ARTICLE_SENTENCES = (
    "Le lac du barrage de Kossou a été rouvert aux pêcheurs lundi, après six mois de fermeture décidée par le "
    "ministère des Ressources animales pour laisser les stocks de poissons se reconstituer.",
    "« Nous attendions ce jour depuis longtemps », a déclaré Yao Kouassi, président de la coopérative des pêcheurs "
    "de Bouaflé, qui compte 340 membres.",
    "Les filets à mailles fines restent interdits et les contrôles seront renforcés, selon le ministère, qui prévoit "
    "douze agents supplémentaires sur le lac.",
    "La fermeture avait provoqué la colère des commerçantes du marché de Bouaflé, privées de leur principale source "
    "de revenus pendant la saison sèche.",
)
FURNITURE = (
    "Nous utilisons des cookies",
    "Accueil",
    "À lire aussi",
    "Inondations à Abidjan",
    "PUBLICITÉ",
    "berline Zeta",
    "Commentaires",
    "Enfin une bonne nouvelle",
    "Tous droits réservés",
)
TITLE = "Le barrage de Kossou rouvert aux pêcheurs"
AUTHOR = "Awa Koné"

NEWS_PAGE = f"""<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>{TITLE} | Le Quotidien du Soir</title>
<meta name="author" content="{AUTHOR}"><meta property="article:published_time" content="2026-03-14T08:00:00Z">
<meta property="og:title" content="{TITLE}"></head>
<body>
<div id="cookie-banner">Nous utilisons des cookies pour améliorer votre expérience. <button>Accepter</button>
<a href="/privacy">Politique de confidentialité</a></div>
<header><nav><ul><li><a href="/">Accueil</a></li><li><a href="/politique">Politique</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/culture">Culture</a></li></ul></nav></header>
<main><article>
<h1>{TITLE}</h1>
<p class="byline">Par {AUTHOR}, publié le 14 mars 2026</p>
<p>{ARTICLE_SENTENCES[0]}</p>
<p>{ARTICLE_SENTENCES[1]}</p>
<h2>Des règles plus strictes</h2>
<p>{ARTICLE_SENTENCES[2]}</p>
<p>{ARTICLE_SENTENCES[3]}</p>
</article>
<aside class="related"><h3>À lire aussi</h3><ul><li><a href="/a">Inondations à Abidjan : trois morts</a></li>
<li><a href="/b">Le prix du cacao au plus haut</a></li></ul></aside>
<div class="ad">PUBLICITÉ — Achetez la nouvelle berline Zeta, 0 % pendant 48 mois</div>
<section id="comments"><h3>Commentaires</h3><div class="comment"><p>Jean89 : Enfin une bonne nouvelle pour les
pêcheurs !</p></div><div class="comment"><p>Marie : Et les commerçantes, qui les aide ?</p></div></section>
</main>
<footer><p>© 2026 Le Quotidien du Soir. Tous droits réservés.</p><a href="/contact">Contact</a></footer>
</body></html>"""

LOGIN_PAGE = """<!doctype html><html><head><title>Connexion | Le Quotidien du Soir</title></head><body>
<header><nav><a href="/">Accueil</a></nav></header>
<main><form action="/login" method="post"><h1>Connexion</h1><label>Courriel <input name="email"></label>
<label>Mot de passe <input type="password" name="password"></label><button>Se connecter</button></form></main>
<footer>© 2026 Le Quotidien du Soir</footer></body></html>"""

PAYWALL_PAGE = f"""<!doctype html><html><head><title>{TITLE}</title></head><body>
<header><nav><a href="/">Accueil</a></nav></header>
<main><article><h1>{TITLE}</h1><p>Cet article est réservé aux abonnés.</p>
<p><a href="/abonnement">Abonnez-vous pour 1 € le premier mois</a></p></article></main>
<footer>© 2026 Le Quotidien du Soir</footer></body></html>"""

HUGE_BYTES = 50_000_000


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes = {
            "/kossou.html": (200, "text/html; charset=utf-8", NEWS_PAGE.encode("utf-8")),
            "/connexion.html": (200, "text/html; charset=utf-8", LOGIN_PAGE.encode("utf-8")),
            "/abonnes.html": (200, "text/html; charset=utf-8", PAYWALL_PAGE.encode("utf-8")),
            "/rapport.pdf": (200, "application/pdf", article_pdf()),
            "/photo.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(64)),
        }
        if self.path in routes:
            status, kind, body = routes[self.path]
            self._send(status, kind, body)
        elif self.path == "/boucle":
            self._redirect("/boucle")
        elif self.path == "/ancienne-adresse":
            self._redirect("/kossou.html")
        elif self.path == "/enorme.html":
            self._huge()
        else:
            self._send(404, "text/html", b"<h1>Not found</h1>")

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, target: str) -> None:
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _huge(self) -> None:
        """50 MB of HTML, sent until the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(HUGE_BYTES))
        self.end_headers()
        chunk = b"<p>" + b"x" * 65_530 + b"</p>"
        try:
            for _ in range(HUGE_BYTES // len(chunk)):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def news_site() -> Iterator[str]:
    """Serve the site on a free loopback port; yields its base URL (``http://127.0.0.1:PORT``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


#: The PDF's pages: page 2 holds the sentence a test asks about.
PDF_PAGES = (
    (
        "Rapport annuel de la coopérative de Bouaflé",
        "La coopérative des pêcheurs de Bouaflé a vendu 41 tonnes de poisson en 2025, contre 29 tonnes l'année "
        "précédente. Elle emploie désormais huit mareyeuses à plein temps.",
    ),
    (
        "Les investissements",
        "La coopérative a acheté deux pirogues à moteur en juin 2025 pour 3,2 millions de francs CFA, financées par "
        "un prêt de la caisse rurale de Bouaflé.",
    ),
)


def article_pdf(pages: tuple[tuple[str, str], ...] = PDF_PAGES, *, password: str | None = None) -> bytes:
    """A text PDF, a heading and a paragraph per page (core fonts: Latin-1 text only)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Rapport annuel de la coopérative")
    for heading, paragraph in pages:
        pdf.add_page()
        pdf.set_font("helvetica", style="B", size=14)
        pdf.multi_cell(0, 8, heading)
        pdf.ln(6)
        pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 6, paragraph)
    if password is not None:
        pdf.set_encryption(owner_password=password + "-owner", user_password=password)
    return bytes(pdf.output())


def scanned_pdf() -> bytes:
    """A PDF whose page is only a picture (drawn shapes, no text layer), as a scanner makes."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    for row in range(20):
        pdf.rect(20, 20 + row * 10, 150 - row * 3, 4, style="F")
    return bytes(pdf.output())
