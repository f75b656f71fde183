// Voting pages: progressive enhancement only; every form works without this file.
(() => {
  "use strict";

  // Ranking ballots: drag the options into order; the rank numbers follow.
  const renumber = (list) => {
    list.querySelectorAll(".rank-row").forEach((row, i) => {
      const input = row.querySelector("input[type=number]");
      if (input) input.value = String(i + 1);
    });
  };

  const sortByNumbers = (list) => {
    const rows = Array.from(list.querySelectorAll(".rank-row"));
    const rank = (row) => {
      const v = parseInt(row.querySelector("input").value, 10);
      return Number.isFinite(v) && v > 0 ? v : Infinity;
    };
    rows
      .map((row, i) => ({ row, i, r: rank(row) }))
      .sort((a, b) => a.r - b.r || a.i - b.i)
      .forEach(({ row }) => list.appendChild(row));
  };

  document.querySelectorAll("[data-ranking]").forEach((list) => {
    let dragged = null;
    list.classList.add("enhanced");
    list.addEventListener("dragstart", (e) => {
      dragged = e.target.closest(".rank-row");
      if (!dragged) return;
      dragged.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", dragged.querySelector("label").textContent);
    });
    list.addEventListener("dragover", (e) => {
      if (!dragged) return;
      e.preventDefault();
      const over = e.target.closest(".rank-row");
      if (!over || over === dragged) return;
      const box = over.getBoundingClientRect();
      const after = e.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    });
    list.addEventListener("drop", (e) => e.preventDefault());
    list.addEventListener("dragend", () => {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      dragged = null;
      renumber(list);
    });
    // Typing a number moves the option to its place when the field is left.
    list.addEventListener("change", (e) => {
      if (e.target.matches("input[type=number]")) sortByNumbers(list);
    });
  });

  // The open-poll form: show only the settings of the chosen method and rule.
  const form = document.querySelector("[data-poll-form]");
  if (form) {
    const method = form.querySelector("select[name=method]");
    const sync = () => {
      const m = method.value;
      form.querySelectorAll("[data-methods]").forEach((el) => {
        el.hidden = !el.dataset.methods.split(" ").includes(m);
      });
      const rule = form.querySelector("input[name=rule]:checked");
      form.querySelectorAll("[data-rules]").forEach((el) => {
        el.hidden = !rule || el.dataset.rules !== rule.value;
      });
    };
    form.addEventListener("change", sync);
    sync();
  }

  // The bulletin board: scroll to the ballot that was found.
  const found = document.querySelector(".bulletin tr.found");
  if (found) found.scrollIntoView({ block: "center" });

  // Find a receipt code in the page itself: it never travels in a URL (access logs would
  // then tie the reader's address to a ballot). Without this file the form asks the server.
  const search = document.querySelector("[data-bulletin-search]");
  if (search) {
    search.addEventListener("submit", (e) => {
      e.preventDefault();
      const q = search.querySelector("input[name=q]").value.trim().toLowerCase();
      let first = null;
      document.querySelectorAll(".bulletin tbody tr").forEach((row) => {
        const hit = q !== "" && row.querySelector("code").textContent.startsWith(q);
        row.classList.toggle("found", hit);
        if (hit && !first) first = row;
      });
      let status = document.querySelector("[data-search-result]");
      if (!status) {
        status = document.createElement("div");
        status.setAttribute("role", "status");
        status.className = "search-result";
        status.dataset.searchResult = "";
        search.after(status);
      }
      const message = document.createElement("p");
      message.className = first ? "flash flash-success" : "flash flash-error";
      message.textContent = (first ? search.dataset.found : search.dataset.none).replace("{q}", q);
      status.replaceChildren(message);
      if (first) first.scrollIntoView({ block: "center" });
    });
  }
})();
