/* Replay page: one /api/runs/{id}/timeline fetch, then a slider over its buckets. */
"use strict";
(function () {
  const B = window.banditlb;
  const view = { runId: null, timeline: null, index: 0, playing: false, frames: 0 };
  window.replay = view;
  let timer = null;

  function cumulative(values, upto) {
    let sum = 0;
    for (let i = 0; i <= upto; i++) sum += values[i] || 0;
    return sum;
  }

  function running(values) {
    let sum = 0;
    return values.map((v) => (sum += v || 0));
  }

  async function loadRunList() {
    const body = await B.getJSON("/api/runs?limit=1000");
    const select = document.getElementById("run");
    select.replaceChildren(...body.runs.map((run) => B.el("option", { value: run.id,
      text: run.id + " · " + run.source + " · " + run.strategy + " · " + run.tier })));
    const wanted = new URLSearchParams(location.search).get("run");
    if (wanted && !body.runs.some((run) => run.id === wanted)) select.appendChild(B.el("option", { value: wanted, text: wanted }));
    if (wanted) select.value = wanted;
    if (select.value) await load(select.value);
    else message("No stored runs yet.");
  }

  function message(text) {
    const box = document.getElementById("message");
    box.textContent = text;
    box.classList.toggle("hidden", !text);
  }

  async function load(runId) {
    stop();
    try {
      view.timeline = await B.getJSON("/api/runs/" + encodeURIComponent(runId) + "/timeline");
    } catch (err) {
      message(String(err));
      return;
    }
    message(view.timeline.t.length ? "" : "This run has no stored attempts to replay.");
    view.runId = runId;
    history.replaceState(null, "", "?run=" + runId);
    document.getElementById("links").replaceChildren(
      B.el("a", { href: "/api/runs/" + runId + "/attempts?format=csv", text: "attempts CSV" }), " · ",
      B.el("a", { href: "/api/runs/" + runId + "/timeline", text: "timeline JSON" }));
    const slider = document.getElementById("slider");
    slider.max = String(Math.max(0, view.timeline.t.length - 1));
    const line = view.timeline;
    const score = running(line.score);
    const regret = line.oracle_per_s === null ? null : score.map((s, i) => line.oracle_per_s * (line.t[i] + line.bucket_s) - s);
    view.curve = regret || score;
    document.getElementById("regret-title").firstChild.textContent = regret ? "Cumulative regret vs oracle " : "Cumulative score ";
    seek(line.t.length ? line.t.length - 1 : 0);
  }

  function marker(x) {
    return [{ type: "line", x0: x, x1: x, yref: "paper", y0: 0, y1: 1, line: { color: "#111827", width: 1, dash: "dot" } }];
  }

  function seek(index) {
    const line = view.timeline;
    if (!line || !line.t.length) return;
    view.index = Math.max(0, Math.min(index, line.t.length - 1));
    document.getElementById("slider").value = String(view.index);
    const i = view.index;
    const x = line.t[i];
    document.getElementById("clock").textContent = "t = " + B.fmt(x, 0) + " s of " + B.fmt(line.t[line.t.length - 1] + line.bucket_s, 0) + " s";
    const requests = cumulative(line.requests, i);
    const score = cumulative(line.score, i);
    document.getElementById("tile-requests").textContent = B.fmt(requests);
    document.getElementById("tile-delivered").textContent = B.fmt(cumulative(line.delivered, i));
    document.getElementById("tile-score").textContent = B.fmt(score, 1);
    document.getElementById("tile-penalised").textContent = B.fmt(cumulative(line.penalised, i));
    const bound = line.oracle_per_s === null ? null : line.oracle_per_s * (x + line.bucket_s);
    document.getElementById("tile-oracle").textContent = bound ? B.fmt((100 * score) / bound, 1) + "%" : "–";
    document.getElementById("tile-latency").textContent = B.fmt(line.latency_ms_mean[i], 1);
    Plotly.react("chart-rate", [
      { x: line.t, y: line.requests.map((n) => n / line.bucket_s), name: "requests/s", mode: "lines", line: { color: "#94a3b8" } },
      { x: line.t, y: line.delivered.map((n) => n / line.bucket_s), name: "delivered/s", mode: "lines", line: { color: "#2563eb" } },
    ], B.layout({ shapes: marker(x), xaxis: { title: "seconds into the run" } }), B.PLOT_CONFIG);
    Plotly.react("chart-regret", [{ x: line.t, y: view.curve, mode: "lines", name: "cumulative", line: { color: "#b91c1c" } }],
      B.layout({ shapes: marker(x), xaxis: { title: "seconds into the run" } }), B.PLOT_CONFIG);
    const names = Object.keys(line.servers);
    const sums = names.map((name) => {
      const s = line.servers[name];
      return { attempts: cumulative(s.attempts, i), accepted: cumulative(s.accepted, i), limited: cumulative(s.rate_limited, i) };
    });
    const total = sums.reduce((acc, s) => acc + s.attempts, 0) || 1;
    Plotly.react("chart-servers", [
      { type: "bar", x: names, y: sums.map((s) => s.attempts / total), name: "traffic share" },
      { type: "bar", x: names, y: sums.map((s) => (s.attempts - s.limited ? s.accepted / (s.attempts - s.limited) : null)), name: "success rate" },
      { type: "bar", x: names, y: sums.map((s) => (s.attempts ? s.limited / s.attempts : 0)), name: "429 share" },
    ], B.layout({ barmode: "group", yaxis: { range: [0, 1], tickformat: ".0%" } }), B.PLOT_CONFIG);
    const curves = names.map((name, k) => {
      const s = sums[k];
      const c = B.betaCurve(1 + s.accepted, 1 + s.attempts - s.limited - s.accepted);
      return { x: c.x, y: c.y, mode: "lines", name: name };
    });
    Plotly.react("chart-posteriors", curves, B.layout({ xaxis: { title: "P(accepted)", range: [0, 1] }, showlegend: names.length <= 12 }), B.PLOT_CONFIG);
    view.frames += 1;
  }

  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    view.playing = false;
    document.getElementById("play").textContent = "▶ play";
  }

  function play() {
    if (!view.timeline || !view.timeline.t.length) return;
    if (view.index >= view.timeline.t.length - 1) seek(0);
    view.playing = true;
    document.getElementById("play").textContent = "❚❚ pause";
    const tick = 100; // ms; each tick moves speed × 0.1 s of run time
    let carry = 0;
    timer = setInterval(() => {
      carry += (Number(document.getElementById("speed").value) * tick) / 1000 / view.timeline.bucket_s;
      const step = Math.floor(carry);
      carry -= step;
      if (step) seek(view.index + step);
      if (view.index >= view.timeline.t.length - 1) stop();
    }, tick);
  }

  view.seek = seek;
  view.play = play;
  view.pause = stop;
  document.getElementById("run").addEventListener("change", (e) => load(e.target.value));
  document.getElementById("slider").addEventListener("input", (e) => { stop(); seek(Number(e.target.value)); });
  document.getElementById("play").addEventListener("click", () => (view.playing ? stop() : play()));
  B.wireExports();
  loadRunList().catch((err) => message(String(err)));
})();
