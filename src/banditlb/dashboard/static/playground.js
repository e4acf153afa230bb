/* The blog's Thompson-sampling picture: seeded mulberry32 PRNG, Marsaglia–Tsang gamma draws. */
"use strict";
(function () {
  const B = window.banditlb;
  const DEFAULT_RATES = [0.3, 0.55, 0.8, 0.45, 0.65];
  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c"];

  function mulberry32(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function normal(rand) { // Box–Muller
    let u = 0;
    while (u === 0) u = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  }

  function gamma(shape, rand) { // Marsaglia & Tsang (2000); shape < 1 boosted by U^(1/shape)
    if (shape < 1) return gamma(shape + 1, rand) * Math.pow(rand() || Number.MIN_VALUE, 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x, v;
      do { x = normal(rand); v = 1 + c * x; } while (v <= 0);
      v = v * v * v;
      const u = rand();
      if (u < 1 - 0.0331 * x ** 4) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  function betaSample(alpha, beta, rand) {
    const x = gamma(alpha, rand);
    return x / (x + gamma(beta, rand));
  }

  const pg = { rand: null, rates: [], alpha: [], beta: [], picks: [], rounds: 0, lastDraws: [], lastPick: null, timer: null };
  window.playground = pg;

  pg.reset = function (n, seed, rates) {
    pg.stop();
    pg.rand = mulberry32(seed);
    pg.rates = rates ? rates.slice(0, n) : DEFAULT_RATES.slice(0, n);
    pg.alpha = new Array(n).fill(1);
    pg.beta = new Array(n).fill(1);
    pg.picks = new Array(n).fill(0);
    pg.rounds = 0;
    pg.lastDraws = [];
    pg.lastPick = null;
    buildControls();
    draw();
  };

  pg.observe = function (arm, success) {
    if (success) pg.alpha[arm] += 1; else pg.beta[arm] += 1;
  };

  pg.step = function (rounds) {
    for (let r = 0; r < (rounds || 1); r++) {
      const draws = pg.alpha.map((a, k) => betaSample(a, pg.beta[k], pg.rand));
      let best = 0;
      for (let k = 1; k < draws.length; k++) if (draws[k] > draws[best]) best = k;
      pg.picks[best] += 1;
      pg.observe(best, pg.rand() < pg.rates[best]);
      pg.rounds += 1;
      pg.lastDraws = draws;
      pg.lastPick = best;
    }
    draw();
  };

  pg.start = function () {
    if (pg.timer !== null) return;
    document.getElementById("autoplay").textContent = "❚❚ pause";
    pg.timer = setInterval(() => pg.step(Number(document.getElementById("speed").value)), 60);
  };

  pg.stop = function () {
    if (pg.timer !== null) clearInterval(pg.timer);
    pg.timer = null;
    const button = document.getElementById("autoplay");
    if (button) button.textContent = "▶ autoplay";
  };

  pg.mostPicked = function () {
    return pg.picks.indexOf(Math.max(...pg.picks));
  };

  function buildControls() {
    const box = document.getElementById("arm-controls");
    box.replaceChildren(...pg.rates.map((rate, k) => {
      const input = B.el("input", { type: "number", min: "0", max: "1", step: "0.05", value: String(rate), id: "rate-" + k });
      input.addEventListener("change", () => {
        const value = Math.min(1, Math.max(0, Number(input.value)));
        pg.rates[k] = Number.isFinite(value) ? value : 0;
        input.value = String(pg.rates[k]);
      });
      const ok = B.el("button", { class: "small", id: "success-" + k, text: "+ success" });
      ok.addEventListener("click", () => { pg.observe(k, true); draw(); });
      const bad = B.el("button", { class: "small", id: "failure-" + k, text: "+ failure" });
      bad.addEventListener("click", () => { pg.observe(k, false); draw(); });
      return B.el("div", { class: "arm-row" }, [
        B.el("strong", { text: "server " + (k + 1), style: "color:" + COLORS[k] }),
        B.el("label", {}, ["true rate ", input]), ok, bad,
        B.el("span", { class: "muted belief", id: "belief-" + k }),
      ]);
    }));
  }

  function draw() {
    const names = pg.rates.map((_, k) => "server " + (k + 1));
    pg.rates.forEach((_, k) => {
      const a = pg.alpha[k], b = pg.beta[k];
      document.getElementById("belief-" + k).textContent =
        "Beta(" + a + ", " + b + "), mean " + B.fmt(a / (a + b), 2) + ", picks " + pg.picks[k];
    });
    const traces = pg.rates.map((rate, k) => {
      const c = B.betaCurve(pg.alpha[k], pg.beta[k]);
      return { x: c.x, y: c.y, mode: "lines", name: names[k] + " (true " + rate + ")", line: { color: COLORS[k], width: pg.lastPick === k ? 3 : 1.5 } };
    });
    const shapes = pg.lastDraws.map((x, k) => ({ type: "line", x0: x, x1: x, yref: "paper", y0: 0, y1: 0.12, line: { color: COLORS[k], width: 2 } }));
    Plotly.react("chart-beliefs", traces, B.layout({ shapes: shapes, xaxis: { title: "success rate", range: [0, 1] }, yaxis: { title: "density" } }), B.PLOT_CONFIG);
    Plotly.react("chart-picks", [{ type: "bar", x: names, y: pg.picks.slice(), marker: { color: COLORS.slice(0, names.length) } }],
      B.layout({ yaxis: { title: "picks" } }), B.PLOT_CONFIG);
    document.getElementById("summary").textContent = pg.rounds + " rounds" +
      (pg.lastPick === null ? "" : "; last pick: " + names[pg.lastPick]);
  }

  function resetFromInputs() {
    pg.reset(Number(document.getElementById("arms").value), Number(document.getElementById("seed").value) || 0);
  }

  document.getElementById("reset").addEventListener("click", resetFromInputs);
  document.getElementById("arms").addEventListener("change", resetFromInputs);
  document.getElementById("round").addEventListener("click", () => pg.step(1));
  document.getElementById("autoplay").addEventListener("click", () => (pg.timer === null ? pg.start() : pg.stop()));
  B.wireExports();
  resetFromInputs();
})();
