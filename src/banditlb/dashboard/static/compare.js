/* Compare page: pick stored runs or one simulator sweep; one /api/compare call gives the table,
   bars and curves (a sweep arrives aggregated per tier × strategy, numbers per request). */
"use strict";
(function () {
  const B = window.banditlb;
  const DASHES = ["solid", "dash", "dot", "dashdot"];
  const view = { runs: [], sweeps: [], cells: [], curves: [], sweep: null, rendered: false };
  window.compareView = view;

  function status(text) { document.getElementById("status").textContent = text; }

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
    status(body.runs.length + " runs");
    if (preset.length) compare();
  }

  async function loadSweeps() {
    const body = await B.getJSON("/api/sweeps");
    view.sweeps = body.sweeps;
    const select = document.getElementById("sweep");
    select.replaceChildren(...body.sweeps.map((s) => B.el("option", { value: s.label,
      text: s.label + " · " + s.scenario + " · " + s.runs + " runs: " + s.strategies + " strategies × " +
        s.tiers + " tiers × " + s.seeds + " seeds" })));
    document.getElementById("compare-sweep").disabled = !body.sweeps.length;
    document.getElementById("sweep-status").textContent = body.sweeps.length ? "" :
      "no sweeps stored yet: run `banditlb sim` to store one";
    const preset = new URLSearchParams(location.search).get("sweep");
    if (preset) {
      if (!body.sweeps.some((s) => s.label === preset)) select.appendChild(B.el("option", { value: preset, text: preset }));
      select.value = preset;
      await compareSweep();
    }
  }

  function selected() {
    return Array.from(document.querySelectorAll("#runs tbody input:checked")).map((box) => box.value);
  }

  async function compare() {
    const ids = selected();
    if (!ids.length) { status("select one or more runs"); return; }
    const body = await B.getJSON("/api/compare?" + ids.map((id) => "run=" + encodeURIComponent(id)).join("&"));
    view.sweep = null;
    render(body);
    history.replaceState(null, "", "?" + ids.map((id) => "run=" + id).join("&"));
  }

  async function compareSweep() {
    const label = document.getElementById("sweep").value;
    if (!label) return;
    const note = document.getElementById("sweep-status");
    note.textContent = "loading…";
    try {
      const body = await B.getJSON("/api/compare?sweep=" + encodeURIComponent(label));
      view.sweep = body.sweep;
      note.textContent = body.sweep.runs + " runs aggregated";
      render(body);
      history.replaceState(null, "", "?sweep=" + encodeURIComponent(label));
    } catch (err) {
      note.textContent = String(err);
    }
  }

  function cellText(c) {
    return (c.best ? "★ " : "") + B.fmt(c.score, 1) + (c.ci95 === null ? "" : " ± " + B.fmt(c.ci95, 1)) +
      " (" + (c.pct_oracle === null ? "–" : B.fmt(c.pct_oracle, 1) + "%") + ", " + B.fmt(c.penalised, 1) + " pen, n=" + c.n + ")";
  }

  /* Runs: strategies down, tiers across, one cell of text each. */
  function matrixOfRuns(cells, tiers, strategies, byKey) {
    const head = B.el("tr", {}, [B.el("th", { text: "strategy" }), ...tiers.map((t) => B.el("th", { text: t }))]);
    const rows = strategies.map((s) => B.el("tr", {}, [B.el("td", { text: s }), ...tiers.map((t) => {
      const c = byKey.get(s + "\u0000" + t);
      if (!c) return B.el("td", { text: "–" });
      return B.el("td", c.best ? { class: "best", text: cellText(c) } : { text: cellText(c) });
    })]));
    return [B.el("thead", {}, [head]), B.el("tbody", {}, rows)];
  }

  /* A sweep: one row per tier × strategy (best first within each tier), one column per number. */
  function tableOfSweep(cells) {
    const columns = ["tier", "strategy", "score / request", "± 95% CI", "% of oracle", "penalised / request", "delivered / request", "seeds"];
    const head = B.el("tr", {}, columns.map((name, i) => B.el("th", i < 2 ? { class: "left", text: name } : { text: name })));
    const rows = cells.map((c) => B.el("tr", c.best ? { class: "best" } : {}, [
      B.el("td", { class: "left", text: c.tier }),
      B.el("td", c.best ? { class: "left best", text: "★ " + c.strategy } : { class: "left", text: c.strategy }),
      B.el("td", { text: B.fmt(c.score, 3) }),
      B.el("td", { text: c.ci95 === null ? "–" : "± " + B.fmt(c.ci95, 3) }),
      B.el("td", { text: c.pct_oracle === null ? "–" : B.fmt(c.pct_oracle, 1) + "%" }),
      B.el("td", { text: B.fmt(c.penalised, 3) }),
      B.el("td", { text: B.fmt(c.delivered, 3) }),
      B.el("td", { text: String(c.n) }),
    ]));
    return [B.el("thead", {}, [head]), B.el("tbody", {}, rows)];
  }

  function render(body) {
    view.cells = body.cells;
    view.curves = body.curves;
    view.colours = body.colours || {};
    const perRequest = body.unit === "per request";
    document.getElementById("results").classList.remove("hidden");
    const tiers = Array.from(new Set(body.cells.map((c) => c.tier))).sort();
    const strategies = Array.from(new Set(body.cells.map((c) => c.strategy))).sort();
    const byKey = new Map(body.cells.map((c) => [c.strategy + "\u0000" + c.tier, c]));
    document.getElementById("matrix-title").textContent = perRequest
      ? "Sweep " + body.sweep.label + ": per tier × strategy, mean over seeds per request, 95% t interval; ★ best per tier"
      : "Strategies × tiers: mean score ± 95% CI (% of oracle, penalised attempts); ★ best per tier";
    document.getElementById("matrix").replaceChildren(...(perRequest
      ? tableOfSweep(body.cells) : matrixOfRuns(body.cells, tiers, strategies, byKey)));
    document.getElementById("scores-title").textContent = perRequest
      ? "Mean score per request, per strategy and tier" : "Mean score per strategy and tier";
    const bars = strategies.map((s) => {
      const cells = tiers.map((t) => byKey.get(s + "\u0000" + t));
      return { type: "bar", name: s, x: tiers, y: cells.map((c) => (c ? c.score : null)),
        marker: { color: B.colourOf(view.colours, s) },
        error_y: { type: "data", array: cells.map((c) => (c && c.ci95 !== null ? c.ci95 : 0)), visible: true } };
    });
    Plotly.react("chart-scores", bars, B.layout({ barmode: "group",
      yaxis: { title: perRequest ? "score per request" : "mean score" } }), B.PLOT_CONFIG);
    const pick = document.getElementById("curve-tier");
    const kept = pick.value;
    pick.replaceChildren(B.el("option", { value: "", text: "all" }), ...tiers.map((t) => B.el("option", { value: t, text: t })));
    pick.value = tiers.includes(kept) ? kept : "";
    drawCurves();
    view.rendered = true;
  }

  function drawCurves() {
    const tier = document.getElementById("curve-tier").value;
    const curves = view.curves.filter((c) => !tier || c.tier === tier);
    const withRegret = curves.length > 0 && curves.every((c) => c.regret !== null);
    const mean = view.sweep ? "mean " : "";
    document.getElementById("curves-title").textContent = withRegret ? "Cumulative " + mean + "regret vs oracle" : "Cumulative " + mean + "score";
    const tierOrder = Array.from(new Set(curves.map((c) => c.tier))).sort();  // one dash per tier
    const lines = curves.map((c) => ({ x: c.requests, y: withRegret ? c.regret : c.score, mode: "lines",
      line: { color: B.colourOf(view.colours, c.strategy), dash: DASHES[tierOrder.indexOf(c.tier) % DASHES.length] },
      name: c.strategy + " · " + c.tier + (c.run_id ? " · " + c.run_id.slice(-4) : " (n=" + c.n + ")") }));
    Plotly.react("chart-curves", lines, B.layout({ xaxis: { title: "requests" },
      yaxis: { title: withRegret ? mean + "regret (points)" : mean + "score (points)" } }), B.PLOT_CONFIG);
  }

  document.getElementById("source").addEventListener("change", loadRuns);
  document.getElementById("compare").addEventListener("click", compare);
  document.getElementById("compare-sweep").addEventListener("click", compareSweep);
  document.getElementById("curve-tier").addEventListener("change", drawCurves);
  document.getElementById("select-all").addEventListener("click", () => {
    document.querySelectorAll("#runs tbody input").forEach((box) => { box.checked = true; });
  });
  B.wireExports();
  loadRuns().catch((err) => status(String(err)));
  loadSweeps().catch((err) => { document.getElementById("sweep-status").textContent = String(err); });
})();
