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
    const sync = () => {
      const chosen = form.querySelector("input[name=method]:checked");
      const m = chosen ? chosen.value : "";
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

  // The invitee picker: a filter box narrows the checkbox list (without it, the whole list).
  document.querySelectorAll("[data-picker]").forEach((picker) => {
    const filter = picker.querySelector("[data-picker-filter]");
    const none = picker.querySelector("[data-picker-none]");
    filter.hidden = false;
    filter.addEventListener("input", () => {
      const q = filter.value.trim().toLowerCase();
      let shown = 0;
      picker.querySelectorAll(".picker-list li").forEach((item) => {
        const hit = item.textContent.toLowerCase().includes(q) || item.querySelector("input").checked;
        item.hidden = !hit;
        if (hit) shown += 1;
      });
      none.hidden = shown > 0;
    });
  });

  // The bulletin board: scroll to the ballot that was found.
  const found = document.querySelector(".bulletin tr.found");
  if (found) found.scrollIntoView({ block: "center" });

  // Find a receipt code in the page itself: it never travels in a URL (access logs would
  // then tie the reader's address to a ballot). The receipt's QR code carries the code after
  // "#", which browsers never send. Without this file the form asks the server.
  // Read a typed code as the server does: any case, dashes and spaces ignored, I/L as 1, O as 0.
  const normalise = (text) =>
    text.replace(/[\s-]/g, "").toUpperCase().replace(/[IL]/g, "1").replace(/O/g, "0");
  const search = document.querySelector("[data-bulletin-search]");
  if (search) {
    const input = search.querySelector("input[name=q]");
    search.addEventListener("submit", (e) => {
      e.preventDefault();
      const typed = input.value.trim();
      const code = normalise(typed);
      const hex = typed.toLowerCase();
      const oldStyle = /^[0-9a-f]{8,64}$/.test(hex);
      const hits = [];
      document.querySelectorAll(".bulletin tbody tr").forEach((row) => {
        const full = row.querySelector("code.full").textContent;
        const hit =
          code !== "" && (row.dataset.code.startsWith(code) || (oldStyle && full.startsWith(hex)));
        row.classList.toggle("found", hit);
        if (hit) hits.push(row);
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
      message.className = hits.length ? "flash flash-success" : "flash flash-error";
      const text = hits.length === 1 && code.length === 16 ? search.dataset.counted
        : hits.length ? search.dataset.found : search.dataset.none;
      message.textContent = text.replace("{q}", typed);
      status.replaceChildren(message);
      if (hits.length) hits[0].scrollIntoView({ block: "center" });
    });
    const fromQr = new URLSearchParams(window.location.hash.slice(1)).get("code");
    if (fromQr) {
      input.value = fromQr;
      search.requestSubmit();
    }
  }

  // The receipt: copy the code, print only the receipt, or save it (QR + code) as a picture.
  const receipt = document.querySelector("[data-receipt]");
  const actions = document.querySelector("[data-receipt-actions]");
  if (receipt && actions) {
    actions.hidden = false;
    const code = receipt.querySelector("#receipt-code").textContent.trim();
    const status = actions.querySelector("[data-receipt-status]");
    const say = (text) => { status.textContent = text; };
    const copyByHand = () => {
      const area = document.createElement("textarea");
      area.value = code;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      const ok = document.execCommand("copy");
      area.remove();
      return ok;
    };
    actions.querySelector("[data-copy]").addEventListener("click", () => {
      const done = () => say(receipt.dataset.copied);
      const failed = () => say(copyByHand() ? receipt.dataset.copied : receipt.dataset.copyFailed);
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(code).then(done, failed);
      } else {
        failed();
      }
    });
    actions.querySelector("[data-print]").addEventListener("click", () => window.print());
    const save = actions.querySelector("[data-save]");
    const download = (href, name) => {
      const link = document.createElement("a");
      link.href = href;
      link.download = name;
      document.body.appendChild(link);
      link.click();
      link.remove();
    };
    save.addEventListener("click", () => {
      const svg = new XMLSerializer().serializeToString(receipt.querySelector("svg.receipt-qr"));
      // A data: address, as the page's content security policy allows (blob: it does not).
      const svgUrl = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
      const image = new Image();
      image.onload = () => {
        const canvas = document.createElement("canvas");
        canvas.width = 600;
        canvas.height = 720;
        const ctx = canvas.getContext("2d");
        ctx.fillStyle = "#fff";
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(image, 60, 40, 480, 480);
        ctx.fillStyle = "#000";
        ctx.textAlign = "center";
        ctx.font = "bold 44px monospace";
        ctx.fillText(code, 300, 600);
        ctx.font = "24px sans-serif";
        ctx.fillText(receipt.querySelector("h2").textContent, 300, 660, 560);
        download(canvas.toDataURL("image/png"), save.dataset.filename);
      };
      image.onerror = () => download(svgUrl, save.dataset.filename.replace(/png$/, "svg"));
      image.src = svgUrl;
    });
  }
})();
