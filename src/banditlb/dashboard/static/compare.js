/* Compare page: pick stored runs, then one /api/compare call gives the table, bars and curves. */
"use strict";
(function () {
  const B = window.banditlb;
  const view = { runs: [], cells: [], curves: [], rendered: false };
  window.compareView = view;

  async function loadRuns() {
    const source = document.getElementById("source").value;
    const body = await B.getJSON("/api/runs?limit=1000" + (source ? "&source=" + source : ""));
    view.runs = body.runs;
    const preset = new URLSearchParams(location.search).getAll("run");
    const tbody = document.querySelector("#runs tbody");
    tbody.replaceChildren(...body.runs.map((run) => {
      const box = B.el("input", { type: "checkbox", value: run.id });
      box.checked = preset.includes(run.id);
      const data = B.el("td", {}, [
        B.el("a", { href: "/api/runs/" + run.id + "/attempts?format=csv", text: "CSV" }), " ",
        B.el("a", { href: "/api/runs/" + run.id, text: "JSON" }), " ",
        B.el("a", { href: "/dashboard/replay?run=" + run.id, text: "replay" }),
      ]);
      return B.el("tr", {}, [
        B.el("td", {}, [box]), B.el("td", { text: run.id }), B.el("td", { text: run.source }),
        B.el("td", { text: run.strategy }), B.el("td", { text: run.scenario }), B.el("td", { text: run.tier }),
        B.el("td", { text: run.seed === null ? "–" : String(run.seed) }),
        B.el("td", { text: B.fmt(run.totals.requests) }), B.el("td", { text: B.fmt(run.totals.score, 1) }), data,
      ]);
    }));
    document.getElementById("status").textContent = body.runs.length + " runs";
    if (preset.length) compare();
  }

  function selected() {
    return Array.from(document.querySelectorAll("#runs tbody input:checked")).map((box) => box.value);
  }

  async function compare() {
    const ids = selected();
    if (!ids.length) { document.getElementById("status").textContent = "select one or more runs"; return; }
    const body = await B.getJSON("/api/compare?" + ids.map((id) => "run=" + encodeURIComponent(id)).join("&"));
    view.cells = body.cells;
    view.curves = body.curves;
    render(body);
    history.replaceState(null, "", "?" + ids.map((id) => "run=" + id).join("&"));
  }

  function render(body) {
    document.getElementById("results").classList.remove("hidden");
    const tiers = Array.from(new Set(body.cells.map((c) => c.tier))).sort();
    const strategies = Array.from(new Set(body.cells.map((c) => c.strategy))).sort();
    const byKey = new Map(body.cells.map((c) => [c.strategy + "\u0000" + c.tier, c]));
    const head = B.el("tr", {}, [B.el("th", { text: "strategy" }), ...tiers.map((t) => B.el("th", { text: t }))]);
    const rows = strategies.map((s) => B.el("tr", {}, [B.el("td", { text: s }), ...tiers.map((t) => {
      const c = byKey.get(s + "\u0000" + t);
      if (!c) return B.el("td", { text: "–" });
      const text = (c.best ? "★ " : "") + B.fmt(c.score, 1) + (c.ci95 === null ? "" : " ± " + B.fmt(c.ci95, 1)) +
        " (" + (c.pct_oracle === null ? "–" : B.fmt(c.pct_oracle, 1) + "%") + ", " + B.fmt(c.penalised, 1) + " pen, n=" + c.n + ")";
      return B.el("td", c.best ? { class: "best", text: text } : { text: text });
    })]));
    document.getElementById("matrix").replaceChildren(B.el("thead", {}, [head]), B.el("tbody", {}, rows));
    const bars = strategies.map((s) => {
      const cells = tiers.map((t) => byKey.get(s + "\u0000" + t));
      return { type: "bar", name: s, x: tiers, y: cells.map((c) => (c ? c.score : null)),
        error_y: { type: "data", array: cells.map((c) => (c && c.ci95 !== null ? c.ci95 : 0)), visible: true } };
    });
    Plotly.react("chart-scores", bars, B.layout({ barmode: "group", yaxis: { title: "mean score" } }), B.PLOT_CONFIG);
    const withRegret = body.curves.every((c) => c.regret !== null);
    document.getElementById("curves-title").firstChild.textContent = withRegret ? "Cumulative regret vs oracle " : "Cumulative score ";
    const lines = body.curves.map((c) => ({ x: c.requests, y: withRegret ? c.regret : c.score, mode: "lines",
      name: c.strategy + " · " + c.tier + " · " + c.run_id.slice(-4) }));
    Plotly.react("chart-curves", lines, B.layout({ xaxis: { title: "requests" }, yaxis: { title: withRegret ? "regret" : "score" } }), B.PLOT_CONFIG);
    view.rendered = true;
  }

  document.getElementById("source").addEventListener("change", loadRuns);
  document.getElementById("compare").addEventListener("click", compare);
  document.getElementById("select-all").addEventListener("click", () => {
    document.querySelectorAll("#runs tbody input").forEach((box) => { box.checked = true; });
  });
  B.wireExports();
  loadRuns().catch((err) => { document.getElementById("status").textContent = String(err); });
})();
