// Progressive enhancement only: the position form works without this file.
// Show the conditions (and the amendment that would meet them) only for conditional support.
(() => {
  const form = document.querySelector("form.position-form");
  const box = form && form.querySelector("[data-for-stance]");
  if (!box) return;
  const update = () => {
    const chosen = form.querySelector("input[name=stance]:checked");
    box.hidden = !chosen || chosen.value !== box.dataset.forStance;
  };
  form.addEventListener("change", (event) => {
    if (event.target.name === "stance") update();
  });
  update();
})();
