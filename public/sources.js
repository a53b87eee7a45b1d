// Three fixes to Chainlit 2.12's chat page, loaded by .chainlit/config.toml (custom_js); served from public/, nothing
// from the network.
//
// 1. The sources panel opens when the reader clicks a marker such as [1], and only then. Chainlit opens its side
//    panel by itself whenever a message brings side elements, listing every source of the conversation (its
//    MessagesContainer effect); on a phone that panel is a sheet over the answer. A panel that appears (or changes)
//    without a click on a marker in the last moments is closed again.
// 2. The few labels Chainlit writes in English whatever the language (hidden labels read by screen readers, button
//    tooltips, the avatar's alt text, the message its server sends when the stop button is pressed) are said in
//    French on a French page, and the page declares its language.
// 3. An answer's copy button copies what the reader sees: its text with the list of sources written out. Chainlit
//    copies the message's Markdown source, backslash escapes included; the text it hands to the clipboard is
//    replaced by the rendered text of the message whose copy button was pressed.
(() => {
  const CLICK_WINDOW_MS = 1500;
  let clickedAt = 0;
  let shown = null;
  let copying = null;
  document.addEventListener(
    "click",
    (event) => {
      const target = event.target instanceof Element ? event.target : null;
      if (target?.closest("a.element-link")) clickedAt = Date.now();
      const button = target?.closest("button");
      const message = button?.querySelector("svg.lucide-copy") && button.closest('[data-step-type="assistant_message"]');
      copying = message ? message.querySelector(".message-content") : null;
    },
    true,
  );
  const closeButton = (title) => {
    const dialog = title.closest('[role="dialog"]');
    if (dialog) return dialog.querySelector("button:has(svg.lucide-x)");
    return title.querySelector("button");
  };
  const watch = () => {
    const title = document.querySelector("#side-view-title");
    const now = title ? title.textContent + "|" + document.querySelector("#side-view-content")?.textContent : null;
    if (now === shown) return;
    shown = now;
    if (title && Date.now() - clickedAt > CLICK_WINDOW_MS) {
      closeButton(title)?.click();
      shown = null;
    }
  };
  // The browser's first language, as the server reads it (assistant.chat.view.ui_language).
  const french = (navigator.language || "").toLowerCase().startsWith("fr");
  const FRENCH = {
    Close: "Fermer",
    "Close toast": "Fermer la notification",
    "Toggle Sidebar": "Afficher ou masquer l'historique",
    "Toggle theme": "Changer de thème",
    // the message Chainlit's server sends, in English, when the stop button is pressed
    "Task manually stopped.": "Réponse arrêtée à votre demande.",
  };
  const translate = () => {
    document.documentElement.lang = french ? "fr" : "en";
    if (!french) return;
    for (const element of document.querySelectorAll(".sr-only, .message-content [role=article], .message-content p")) {
      const label = FRENCH[element.textContent];
      if (label && element.children.length === 0) element.textContent = label;
    }
    for (const name of ["aria-label", "title"]) {
      for (const element of document.querySelectorAll(`[${name}]`)) {
        const label = FRENCH[element.getAttribute(name)];
        if (label) element.setAttribute(name, label);
      }
    }
    for (const image of document.querySelectorAll('img[alt^="Avatar for "]')) {
      image.alt = "Avatar de " + image.alt.slice("Avatar for ".length);
    }
  };
  new MutationObserver(() => {
    watch();
    translate();
  }).observe(document.documentElement, { childList: true, subtree: true });
  translate();

  const clipboard = navigator.clipboard;
  if (!clipboard) return;
  const copiedText = () => {
    const content = copying;
    copying = null;
    return content ? content.innerText.replace(/\n{3,}/g, "\n\n").trim() : null;
  };
  const writeText = clipboard.writeText.bind(clipboard);
  clipboard.writeText = (text) => writeText(copiedText() ?? text);
  if (clipboard.write) {
    const write = clipboard.write.bind(clipboard);
    clipboard.write = (items) => {
      const content = copying;
      const text = copiedText();
      if (text === null) return write(items);
      const blob = (data, type) => new Blob([data], { type });
      return write([
        new ClipboardItem({ "text/plain": blob(text, "text/plain"), "text/html": blob(content.innerHTML, "text/html") }),
      ]);
    };
  }
})();
