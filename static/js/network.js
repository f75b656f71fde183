// The community network page: a Cytoscape.js graph fed by /api/v1/communities/<id>/network.
// Progressive enhancement: the report, filters (a GET form) and exports work without it.
(function () {
  "use strict";

  const KIND_COLOURS = {
    government: "#7a3eb1",
    business: "#b5620b",
    social_organization: "#1f7a6d",
    resident: "#1f5fae",
    group: "#5b6475",
  };
  const POSITIVE = "#1e7a3c";
  const NEGATIVE = "#b3261e";
  const BIG = 400; // from this many nodes: cheaper rendering

  const container = document.getElementById("network-graph");
  if (!container || typeof window.cytoscape !== "function") {
    return;
  }
  const labels = container.dataset;
  const form = document.getElementById("network-filters");
  const panel = document.querySelector("#network-panel .panel-body");
  const note = document.getElementById("network-note");
  let cy = null;
  let current = null;
  let drill = null; // the camp opened from an aggregated view

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function query() {
    const params = new URLSearchParams();
    if (form) {
      new FormData(form).forEach((value, key) => {
        if (value) {
          params.append(key, value);
        }
      });
    }
    if (drill !== null) {
      params.set("bloc", drill);
    }
    return params;
  }

  function style(big) {
    return [
      {
        selector: "node",
        style: {
          "background-color": "data(colour)",
          label: big ? "" : "data(name)",
          "font-size": 11,
          "min-zoomed-font-size": 7,
          "text-valign": "bottom",
          "text-margin-y": 3,
          "text-wrap": "ellipsis",
          "text-max-width": 110,
          color: "#1d2433",
          "text-outline-color": "#fff",
          "text-outline-width": 2,
          width: "data(size)",
          height: "data(size)",
          "border-width": big ? 0 : 1,
          "border-color": "#fff",
        },
      },
      {
        selector: "node[kind = 'group']",
        style: {
          label: "data(name)",
          "font-size": 14,
          "text-valign": "center",
          color: "#fff",
          "text-outline-color": "#5b6475",
        },
      },
      {
        selector: ":parent",
        style: {
          "background-color": "#eef0f5",
          "background-opacity": 0.55,
          "border-color": "#c3c9d5",
          "border-width": 1,
          shape: "round-rectangle",
          label: "data(name)",
          "text-valign": "top",
          "text-halign": "center",
          "font-size": 13,
          "font-weight": "bold",
          color: "#5b6475",
          "text-outline-width": 0,
          padding: 18,
        },
      },
      {
        selector: "edge",
        style: {
          "line-color": "data(colour)",
          width: "data(width)",
          opacity: big ? 0.45 : 0.8,
          "curve-style": big ? "haystack" : "bezier",
        },
      },
      { selector: "edge[origin = 'inferred']", style: { "line-style": big ? "solid" : "dashed" } },
      { selector: "edge[visibility = 'managers']", style: { "line-style": "dotted" } },
      { selector: "edge[status = 'disputed']", style: { "line-style": "dashed" } },
      {
        selector: ".faded",
        style: { opacity: 0.12, "text-opacity": 0.1 },
      },
      {
        selector: "node.highlight",
        style: { label: "data(name)", "border-width": 4, "border-color": "#f2a900", "z-index": 10 },
      },
      {
        selector: "node.mediator",
        style: { "border-width": 6, "border-color": "#1e7a3c", "z-index": 11 },
      },
      {
        selector: "edge.highlight",
        style: { opacity: 1, width: "data(wide)", "z-index": 9 },
      },
      { selector: "node:selected", style: { label: "data(name)" } },
      { selector: ":selected", style: { "overlay-opacity": 0.15, "overlay-color": "#f2a900" } },
    ];
  }

  function nodeSize(n) {
    if (n.kind === "group") {
      return 30 + Math.min(120, 6 * Math.sqrt(n.size || 1));
    }
    return 14 + Math.min(22, 4 * Math.sqrt(n.degree || 0));
  }

  function elements(data, big) {
    const out = [];
    const parents = new Set();
    const grouped = !data.graph.aggregated && !big; // camp boxes cost too much on big graphs
    const camps = {};
    (data.graph.blocs || []).forEach((b) => {
      camps[b.id] = b.label;
    });
    data.nodes.forEach((n) => {
      const item = {
        group: "nodes",
        data: Object.assign({}, n, {
          id: String(n.id),
          colour: KIND_COLOURS[n.kind] || "#888",
          size: nodeSize(n),
        }),
        position: { x: n.x || 0, y: n.y || 0 },
      };
      if (grouped) {
        const linked = n.bloc !== null && n.bloc !== undefined && n.degree > 0;
        const parent = linked ? "camp-" + n.bloc : "camp-none";
        item.data.parent = parent;
        if (!parents.has(parent)) {
          parents.add(parent);
          const name = linked ? camps[n.bloc] || "" : labels.lUnlinked;
          out.push({ group: "nodes", data: { id: parent, name: name, camp: linked ? n.bloc : -1 } });
        }
      }
      out.push(item);
    });
    data.links.forEach((l) => {
      const strength = l.strength || 1;
      out.push({
        group: "edges",
        data: Object.assign({}, l, {
          id: "e-" + l.id,
          link: l.id,
          source: String(l.source),
          target: String(l.target),
          colour: l.sign > 0 ? POSITIVE : NEGATIVE,
          width: 1 + 1.6 * strength,
          wide: 3 + 2 * strength,
        }),
      });
    });
    return out;
  }

  function showNote(text) {
    if (note) {
      note.textContent = text || "";
    }
  }

  function clearPanel(message) {
    panel.replaceChildren(el("p", { class: "muted" }, message));
  }

  function render(data) {
    current = data;
    const big = data.nodes.length >= BIG;
    if (cy) {
      cy.destroy();
    }
    container.replaceChildren();
    cy = window.cytoscape({
      container: container,
      elements: elements(data, big),
      style: style(big),
      layout: { name: "preset", fit: true, padding: 30 },
      minZoom: 0.05,
      maxZoom: 2,
      wheelSensitivity: 0.3,
      textureOnViewport: false,
      hideEdgesOnViewport: big,
      pixelRatio: big ? 1 : "auto",
      motionBlur: false,
      boxSelectionEnabled: false,
    });
    container.cy = cy; // for tests and the browser console
    container.dataset.nodes = String(data.nodes.length);
    container.dataset.links = String(data.links.length);
    container.dataset.signs = Array.from(new Set(data.links.map((l) => l.sign))).sort().join(",");
    cy.on("tap", "node", (evt) => showNode(evt.target));
    cy.on("tap", "edge", (evt) => showEdge(evt.target));
    cy.on("tap", (evt) => {
      if (evt.target === cy) {
        unhighlight();
      }
    });
    if (data.graph.aggregated) {
      showNote(labels.lAggregated);
    } else if (data.graph.links_shown < data.graph.links_total) {
      showNote(
        labels.lCapped
          .replace("%(shown)s", data.graph.links_shown.toLocaleString())
          .replace("%(total)s", data.graph.links_total.toLocaleString())
      );
    } else if (!data.nodes.length) {
      showNote(labels.lEmpty);
    } else {
      showNote("");
    }
    if (drill !== null) {
      const back = el("button", { type: "button", class: "link" }, labels.lAll);
      back.addEventListener("click", () => {
        drill = null;
        load();
      });
      note.append(" ", back);
    }
  }

  function load() {
    const params = query();
    showNote(labels.lLoading);
    return fetch(container.dataset.src + "?" + params.toString(), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then((r) => {
        if (!r.ok) {
          throw new Error(String(r.status));
        }
        return r.json();
      })
      .then(render)
      .catch(() => showNote(labels.lError));
  }

  function unhighlight() {
    if (cy) {
      cy.elements().removeClass("faded highlight mediator");
    }
  }

  function highlight(ids, mediator) {
    if (!cy) {
      return cy;
    }
    unhighlight();
    let nodes = cy.collection();
    ids.forEach((id) => {
      nodes = nodes.union(cy.getElementById(String(id)));
    });
    nodes = nodes.filter((n) => n.nonempty());
    if (!nodes.length) {
      return nodes;
    }
    const edges = nodes.edgesWith(nodes);
    cy.elements().not(nodes).not(edges).not(nodes.parents()).addClass("faded");
    nodes.addClass("highlight");
    edges.addClass("highlight");
    if (mediator !== undefined && mediator !== null) {
      cy.getElementById(String(mediator)).addClass("mediator");
    }
    cy.animate({ fit: { eles: nodes, padding: 110 }, duration: 300 });
    return nodes;
  }

  function fact(dl, term, value) {
    dl.append(el("dt", {}, term));
    const dd = el("dd");
    if (value instanceof Node) {
      dd.append(value);
    } else {
      dd.textContent = value;
    }
    dl.append(dd);
  }

  function showNode(node) {
    const d = node.data();
    if (d.kind === "group") {
      panel.replaceChildren(el("h3", {}, d.name));
      if (d.bloc !== null && d.bloc !== undefined) {
        const open = el("button", { type: "button", class: "button small" }, labels.lOpenCamp);
        open.addEventListener("click", () => {
          drill = d.bloc;
          load();
        });
        panel.append(open);
      }
      return;
    }
    if (d.camp !== undefined && !d.kind) {
      return; // a camp's box
    }
    highlight([d.id].concat(node.neighborhood("node").map((n) => n.id())));
    const dl = el("dl", { class: "facts" });
    fact(dl, labels.lKind, d.kind_label || d.kind);
    const camp = current.graph.blocs.find((b) => b.id === d.bloc);
    fact(dl, labels.lCamp, camp && d.degree > 0 ? camp.label : labels.lNoCamp);
    fact(dl, labels.lDegree, String(d.degree));
    const link = el("a", { href: d.url, class: "button small" }, labels.lProfile);
    panel.replaceChildren(el("h3", {}, d.name), dl, link);
  }

  function showEdge(edge) {
    const d = edge.data();
    highlight([d.source, d.target]);
    const source = cy.getElementById(d.source).data("name") || d.source;
    const target = cy.getElementById(d.target).data("name") || d.target;
    const title = el("h3", {}, source + " — " + target);
    const badge = el("p", { class: "meta" }, d.type_label || d.type);
    if (d.visibility === "managers") {
      badge.append(" · ", el("span", { class: "badge pending" }, labels.lManagers));
    }
    const text = el("p", { class: "explanation" }, d.explanation || labels.lLoading);
    panel.replaceChildren(title, badge, text);
    if (!d.explanation && d.origin !== "aggregate") {
      fetch(container.dataset.src + "/links/" + encodeURIComponent(d.link), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((x) => {
          edge.data("explanation", x.explanation);
          text.textContent = x.explanation;
        })
        .catch(() => {
          text.textContent = labels.lError;
        });
    }
    if (d.url) {
      panel.append(el("a", { href: d.url, class: "button small" }, labels.lRelation));
    }
  }

  function showSentence(button) {
    const ids = (button.dataset.nodes || "").split(",").filter(Boolean);
    const mediator = button.dataset.mediator;
    highlight(ids, mediator);
    panel.replaceChildren(el("p", { class: "sentence-text" }, button.textContent.trim()));
    if (mediator && cy) {
      const m = cy.getElementById(String(mediator));
      const name = m.nonempty() ? m.data("name") : mediator;
      const box = el("p", { class: "mediator-note" });
      box.append(el("strong", {}, labels.lMediator + ": "));
      if (m.nonempty() && m.data("url")) {
        box.append(el("a", { href: m.data("url") }, name));
      } else {
        box.append(name);
      }
      panel.append(box);
    }
    container.scrollIntoView({ behavior: "smooth", block: "center" });
  }

  if (form) {
    form.addEventListener("change", () => {
      drill = null;
      const url = new URL(window.location.href);
      url.search = query().toString();
      window.history.replaceState(null, "", url);
      load();
    });
    form.addEventListener("submit", (evt) => {
      evt.preventDefault();
      load();
    });
  }
  document.querySelectorAll("button.sentence").forEach((b) => {
    b.addEventListener("click", () => showSentence(b));
  });

  const progress = document.querySelector(".progress-note[data-status-url]");
  if (progress) {
    const bar = progress.querySelector("progress");
    const poll = () => {
      fetch(progress.dataset.statusUrl, { headers: { Accept: "application/json" } })
        .then((r) => r.json())
        .then((s) => {
          if (bar) {
            bar.value = s.progress;
          }
          if (s.status === "done") {
            window.location.reload();
          } else if (s.status !== "failed") {
            window.setTimeout(poll, 2000);
          }
        })
        .catch(() => window.setTimeout(poll, 5000));
    };
    window.setTimeout(poll, 1500);
  }

  clearPanel(panel.textContent.trim());
  load();
})();
