/* Live page: one SSE event per second from /api/events; every series kept here is bounded. */
"use strict";
(function () {
  const B = window.banditlb;
  const KEEP = 600; // points per time series
  const series = { t: [], delivered: [], requests: [], cumT: [], cumulative: [] };
  const state = { events: 0, last: null, series: series, posteriorRedraws: 0 };
  window.live = state;

  function push(key, value) {
    series[key].push(value);
    if (series[key].length > KEEP) series[key].shift();
  }

  function setText(id, text) { document.getElementById(id).textContent = text; }

  function tiles(ev) {
    const t = ev.totals;
    setText("tile-requests", B.fmt(t.requests));
    setText("tile-delivered", B.fmt(t.delivered));
    if (t.referee_score !== null) {
      setText("tile-score-label", "referee score");
      setText("tile-score", B.fmt(t.referee_score, 1));
    } else {
      setText("tile-score", B.fmt(t.score, 1));
    }
    setText("tile-penalised", B.fmt(t.penalised));
    setText("tile-oracle", t.pct_oracle === null ? "–" : B.fmt(t.pct_oracle, 1) + "%");
    setText("tile-latency", B.fmt(t.p50_ms, 1) + " / " + B.fmt(t.p99_ms, 1));
    const s = ev.settings;
    setText("run-info", [s.strategy, s.scenario, s.tier, s.label].filter(Boolean).join(" · ") +
      " · up " + B.fmt(ev.uptime_s, 0) + " s");
  }

  function timeSeries(ev) {
    if (ev.per_second && state.events === 0) {
      const ps = ev.per_second;
      const n = ps.requests.length;
      for (let i = 0; i < n - 1; i++) { // whole seconds before this one
        if (ps.end - n + 1 + i < 0) continue; // before the balancer started
        push("t", ps.end - n + 1 + i);
        push("delivered", ps.delivered[i]);
        push("requests", ps.requests[i]);
      }
    }
    let d = ev.delta;
    if (!d && state.last) { // a reconnected stream: take increments from the last event seen
      const a = ev.totals, b = state.last.totals;
      d = { delivered: a.delivered - b.delivered, requests: a.requests - b.requests, dt: ev.now - state.last.now };
    }
    if (d && d.dt > 0) {
      push("t", ev.now);
      push("delivered", d.delivered / d.dt);
      push("requests", d.requests / d.dt);
    }
    const totals = ev.totals;
    const oracle = totals.oracle_per_request;
    push("cumT", ev.now);
    push("cumulative", oracle === null ? totals.score : oracle * totals.requests - totals.score);
    // Plotly.react redraws only arrays it has not seen: hand it fresh copies each time.
    const t = series.t.slice();
    Plotly.react("chart-rate", [
      { x: t, y: series.requests.slice(), name: "requests/s", mode: "lines", line: { color: "#94a3b8" } },
      { x: t, y: series.delivered.slice(), name: "delivered/s", mode: "lines", line: { color: "#2563eb" } },
    ], B.layout({ xaxis: { title: "balancer clock (s)" } }), B.PLOT_CONFIG);
    document.getElementById("regret-title").textContent = oracle === null ? "Cumulative score" : "Cumulative regret vs oracle";
    Plotly.react("chart-regret", [
      { x: series.cumT.slice(), y: series.cumulative.slice(), name: oracle === null ? "score" : "regret", mode: "lines", line: { color: "#b91c1c" } },
    ], B.layout({ xaxis: { title: "balancer clock (s)" } }), B.PLOT_CONFIG);
  }

  function servers(ev) {
    const names = ev.arms.map((a) => a.server);
    Plotly.react("chart-servers", [
      { x: names, y: ev.arms.map((a) => a.share), name: "traffic share", type: "bar" },
      { x: names, y: ev.arms.map((a) => a.success_rate), name: "success rate", type: "bar" },
      { x: names, y: ev.arms.map((a) => (a.attempts ? a.rate_limited / a.attempts : 0)), name: "429 share", type: "bar" },
    ], B.layout({ barmode: "group", yaxis: { range: [0, 1], tickformat: ".0%" } }), B.PLOT_CONFIG);
    const traces = ev.arms.map((a) => {
      const fromCounts = a.alpha === null || a.beta === null;
      const alpha = fromCounts ? 1 + a.accepted : a.alpha;
      const beta = fromCounts ? 1 + a.failed + a.timeout + a.connection_error : a.beta;
      const curve = B.betaCurve(alpha, beta);
      return { x: curve.x, y: curve.y, mode: "lines", name: a.server + (fromCounts ? " (counts)" : ""),
        line: { dash: a.blocked ? "dot" : "solid" } };
    });
    Plotly.react("chart-posteriors", traces, B.layout({ xaxis: { title: "P(accepted)", range: [0, 1] }, yaxis: { title: "density" }, showlegend: ev.arms.length <= 12 }), B.PLOT_CONFIG);
    state.posteriorRedraws += 1;
    const body = document.querySelector("#server-table tbody");
    body.replaceChildren(...ev.arms.map((a) => B.el("tr", {}, [
      B.el("td", { text: a.server }),
      B.el("td", { text: B.fmt(a.attempts) }),
      B.el("td", { text: B.pct(a.share) }),
      B.el("td", { text: B.pct(a.success_rate) }),
      B.el("td", { text: B.fmt(a.rate_limited) }),
      B.el("td", { text: B.fmt(a.failed + a.timeout + a.connection_error) }),
      B.el("td", { text: B.pct(a.estimate) }),
      B.el("td", { text: a.capacity === null ? "–" : B.fmt(a.capacity, 1) }),
      B.el("td", a.blocked ? { class: "blocked", text: B.fmt(a.blocked_for_s, 1) + " s" } : { text: "no" }),
    ])));
  }

  function latency(ev) {
    const h = ev.latency_histogram;
    if (!h) {
      Plotly.react("chart-latency", [], B.layout({ annotations: [{ text: "the balancer's state has no latency histogram", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }] }), B.PLOT_CONFIG);
      return;
    }
    const labels = h.upper_ms.map((u) => (u < 0 ? "> max" : "≤ " + B.fmt(u, u < 10 ? 1 : 0)));
    Plotly.react("chart-latency", [{ x: labels, y: h.counts, type: "bar", name: "requests", marker: { color: "#7c3aed" } }],
      B.layout({ xaxis: { title: "latency (ms)", type: "category" }, yaxis: { title: "requests" } }), B.PLOT_CONFIG);
  }

  function cluster(ev) {
    const c = ev.cluster;
    const card = document.getElementById("cluster");
    if (!c) { card.classList.add("hidden"); return; }
    card.classList.remove("hidden");
    setText("cluster-name", c.cluster);
    const mode = document.getElementById("cluster-mode");
    mode.textContent = c.connected ? "shared state (Redis connected)"
      : "LOCAL STATE: Redis unavailable" + (c.down_s === null ? "" : " for " + B.fmt(c.down_s, 0) + " s") + (c.queued ? ", " + B.fmt(c.queued) + " answers queued" : "");
    mode.className = c.connected ? "" : "blocked";
    document.querySelector("#replica-table tbody").replaceChildren(...c.replicas.map((r) => B.el("tr", {}, [
      B.el("td", { text: (r.label || r.replica) + (r.self ? " (this one)" : "") }),
      B.el("td", { text: r.alive ? "yes" : "no" }),
      B.el("td", { text: B.fmt(r.requests) }),
      B.el("td", { text: B.pct(r.share) }),
    ])));
    document.querySelector("#budget-table tbody").replaceChildren(...ev.arms.map((a) => B.el("tr", {}, [
      B.el("td", { text: a.server }),
      B.el("td", { text: B.fmt(c.sends_1s[a.server] || 0) }),
      B.el("td", { text: a.capacity === null ? "–" : B.fmt(a.capacity, 1) }),
      B.el("td", a.blocked ? { class: "blocked", text: B.fmt(a.blocked_for_s, 1) + " s" } : { text: "no" }),
    ])));
  }

  function onState(message) {
    const ev = JSON.parse(message.data);
    cluster(ev);
    tiles(ev);
    timeSeries(ev);
    servers(ev);
    latency(ev);
    state.last = ev;
    state.events += 1;
  }

  function connect() {
    const source = new EventSource("/api/events");
    source.addEventListener("state", onState);
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED && state.events === 0) {
        document.getElementById("no-live").classList.remove("hidden");
        document.getElementById("run-info").textContent = "no live data";
      }
    };
  }

  B.wireExports();
  connect();
})();
