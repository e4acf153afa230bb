/* Shared helpers: formatting, Beta densities (log-gamma via Lanczos), Plotly export. */
"use strict";
(function () {
  const LANCZOS = [676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];

  function lgamma(x) {
    if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
    x -= 1;
    let a = 0.99999999999980993;
    const t = x + 7.5;
    for (let i = 0; i < 8; i++) a += LANCZOS[i] / (x + i + 1);
    return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
  }

  /* Points x in (0,1) and Beta(alpha, beta) densities; the grid is densest near the mean. */
  function betaCurve(alpha, beta, n) {
    n = n || 300;
    const lbeta = lgamma(alpha) + lgamma(beta) - lgamma(alpha + beta);
    const mean = alpha / (alpha + beta);
    const sd = Math.sqrt(alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1)));
    const xs = new Set();
    for (let i = 1; i < n; i++) xs.add(i / n);
    for (let i = -40; i <= 40; i++) {
      const x = mean + (i / 40) * 6 * sd;
      if (x > 0 && x < 1) xs.add(Math.round(x * 1e6) / 1e6);
    }
    const grid = Array.from(xs).sort((a, b) => a - b);
    const ys = grid.map((x) => Math.exp((alpha - 1) * Math.log(x) + (beta - 1) * Math.log(1 - x) - lbeta));
    return { x: grid, y: ys };
  }

  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    if (typeof value !== "number") return String(value);
    const d = digits === undefined ? (Number.isInteger(value) ? 0 : 2) : digits;
    return value.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
  }

  function pct(value) { return value === null || value === undefined ? "–" : fmt(100 * value, 1) + "%"; }

  async function getJSON(url) {
    const response = await fetch(url);
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }

  const PLOT_CONFIG = { responsive: true, displaylogo: false };
  const LAYOUT = { margin: { l: 50, r: 15, t: 10, b: 40 }, legend: { orientation: "h", y: -0.2 }, font: { size: 11 } };

  /* The bundled plotly.js wants axis titles as {text: ...}; a plain string would be ignored
     and the axis left untitled, so `layout` turns xaxis/yaxis `title: "..."` into that form. */
  function layout(extra) {
    const merged = Object.assign({}, LAYOUT, extra || {});
    Object.keys(merged).forEach((key) => {
      const axis = merged[key];
      if (/^[xy]axis\d*$/.test(key) && axis && typeof axis.title === "string") {
        merged[key] = Object.assign({}, axis, { title: { text: axis.title } });
      }
    });
    if (merged.xaxis && merged.xaxis.title) merged.margin = Object.assign({}, LAYOUT.margin, { b: 50 });
    return merged;
  }

  /* The colour of a strategy: the server's (shared with the simulator's PNGs) when given. */
  function colourOf(colours, strategy) { return (colours && colours[strategy]) || undefined; }

  /* Every element with data-png="chartId" downloads that chart as a PNG. */
  function wireExports(root) {
    (root || document).querySelectorAll("[data-png]").forEach((button) => {
      button.addEventListener("click", () => {
        const id = button.getAttribute("data-png");
        Plotly.downloadImage(document.getElementById(id), { format: "png", filename: "banditlb-" + id, width: 1200, height: 600 });
      });
    });
  }

  function markNav() {
    const here = location.pathname.replace(/\/$/, "");
    document.querySelectorAll("header nav a").forEach((a) => {
      if (a.getAttribute("href") === here) a.classList.add("active");
    });
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v; else if (k === "class") node.className = v; else node.setAttribute(k, v);
    });
    (children || []).forEach((c) => node.appendChild(typeof c === "string" ? document.createTextNode(c) : c));
    return node;
  }

  window.banditlb = { lgamma, betaCurve, fmt, pct, getJSON, PLOT_CONFIG, layout, colourOf, wireExports, markNav, el };
  document.addEventListener("DOMContentLoaded", markNav);
})();
