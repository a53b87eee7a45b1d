// The sources panel opens when the reader clicks a marker such as [1], and only then.
//
// Chainlit 2.12 opens its side panel by itself whenever a message brings side elements, listing every source of
// the conversation (its MessagesContainer effect); on a phone that panel is a sheet over the answer. A panel that
// appears (or changes) without a click on a marker in the last moments is closed again. Loaded by
// .chainlit/config.toml (custom_js); served from public/, nothing from the network.
(() => {
  const CLICK_WINDOW_MS = 1500;
  let clickedAt = 0;
  let shown = null;
  document.addEventListener(
    "click",
    (event) => {
      if (event.target instanceof Element && event.target.closest("a.element-link")) clickedAt = Date.now();
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
  new MutationObserver(watch).observe(document.documentElement, { childList: true, subtree: true });
})();
