// Progressive enhancement only: every page works without this file.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("select[data-autosubmit]") && el.form) {
    el.form.requestSubmit();
  }
});

// The phone menu is a <details>: it works without this; here it also reports aria-expanded
// and closes with Escape, returning the focus to its button.
for (const menu of document.querySelectorAll("details.menu-toggle")) {
  const button = menu.querySelector("summary");
  const sync = () => button.setAttribute("aria-expanded", String(menu.open));
  menu.addEventListener("toggle", sync);
  sync();
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.open) {
      menu.open = false;
      button.focus();
    }
  });
}
