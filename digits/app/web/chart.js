"use strict";
/* Line charts drawn on a canvas, for the pages of `train --watch` and `compare`.

   Chart.draw(canvas, {series, lines, xLabel, yLabel, log, integerX}):
   series: [{name, points: [[x, y], ...], colour, dashed}], each drawn as a line with a
   dot at every point (noDots: none); legendAt: "bottom-right" (the default), "top-right",
   "top-left" or "bottom-left"; lines: [{y, label, colour}], horizontal reference lines (the
   book's published number); log: a logarithmic y axis (positive values only). */

const Chart = (() => {
  const COLOURS = ["#2f6fd6", "#d9622b", "#1a7f37", "#8e44ad", "#b8860b", "#c0392b",
                   "#16a085", "#555555"];
  const MARGIN = {left: 58, right: 14, top: 12, bottom: 40};

  function ticks(low, high, wanted) {
    const span = high - low || 1;
    const rough = span / wanted;
    const power = Math.pow(10, Math.floor(Math.log10(rough)));
    const step = [1, 2, 2.5, 5, 10].map(k => k * power).find(s => s >= rough) || 10 * power;
    const found = [];
    for (let t = Math.ceil(low / step) * step; t <= high + step * 1e-9; t += step) {
      found.push(Math.round(t / step) * step);
    }
    return found;
  }

  function logTicks(low, high) {
    const found = [];
    for (let p = Math.floor(Math.log10(low)); p <= Math.ceil(Math.log10(high)); p++) {
      found.push(Math.pow(10, p));
    }
    return found;
  }

  function label(value) {
    if (value === 0) return "0";
    const size = Math.abs(value);
    if (size >= 1e4 || size < 1e-3) return value.toExponential(0);
    return String(Number(value.toPrecision(4)));
  }

  function extent(options) {
    const xs = [], ys = [];
    for (const s of options.series) {
      for (const [x, y] of s.points) {
        if (Number.isFinite(x) && Number.isFinite(y) && (!options.log || y > 0)) { xs.push(x); ys.push(y); }
      }
    }
    for (const line of options.lines || []) ys.push(line.y);
    if (!xs.length) return null;
    let [xLow, xHigh] = [Math.min(...xs), Math.max(...xs)];
    let [yLow, yHigh] = [Math.min(...ys), Math.max(...ys)];
    if (options.integerX) { xLow = Math.min(xLow, 1); xHigh = Math.max(xHigh, xLow + 1); }
    if (xHigh === xLow) xHigh = xLow + 1;
    if (options.log) {
      yLow = Math.pow(10, Math.floor(Math.log10(yLow)));
      yHigh = Math.pow(10, Math.ceil(Math.log10(yHigh)));
      if (yHigh === yLow) yHigh = yLow * 10;
    } else {
      const pad = (yHigh - yLow) * 0.08 || Math.abs(yHigh) * 0.05 || 1;
      yLow -= pad; yHigh += pad;
    }
    return {xLow, xHigh, yLow, yHigh};
  }

  function axes(g, box, range, options) {
    const {left, top, width, height} = box;
    g.strokeStyle = "#d8dce3"; g.fillStyle = "#5c6475"; g.lineWidth = 1;
    g.font = "11px system-ui, sans-serif";
    const yTicks = options.log ? logTicks(range.yLow, range.yHigh) : ticks(range.yLow, range.yHigh, 5);
    g.textAlign = "right"; g.textBaseline = "middle";
    for (const t of yTicks) {
      const y = box.y(t);
      if (y < top - 1 || y > top + height + 1) continue;
      g.beginPath(); g.moveTo(left, y); g.lineTo(left + width, y); g.stroke();
      g.fillText(label(t), left - 6, y);
    }
    let xTicks = ticks(range.xLow, range.xHigh, 8);
    if (options.integerX) xTicks = xTicks.filter(t => Number.isInteger(t));
    g.textAlign = "center"; g.textBaseline = "top";
    for (const t of xTicks) g.fillText(label(t), box.x(t), top + height + 5);
    g.strokeStyle = "#9aa1ad";
    g.strokeRect(left, top, width, height);
    g.fillText(options.xLabel || "", left + width / 2, top + height + 22);
    g.save(); g.translate(13, top + height / 2); g.rotate(-Math.PI / 2);
    g.fillText(options.yLabel || "", 0, 0); g.restore();
  }

  function legend(g, box, entries, where) {
    g.font = "12px system-ui, sans-serif"; g.textAlign = "left"; g.textBaseline = "middle";
    const width = Math.max(...entries.map(e => g.measureText(e.name).width)) + 34;
    const height = entries.length * 17 + 4;
    const x = where.endsWith("left") ? box.left + 12 : box.left + box.width - width - 6;
    let y = where.startsWith("top") ? box.top + 12 : box.top + box.height - height - 2;
    g.fillStyle = "rgba(255, 255, 255, 0.85)";
    g.fillRect(x - 6, y - 10, width, height);
    for (const entry of entries) {
      g.strokeStyle = entry.colour; g.lineWidth = 2; g.setLineDash(entry.dashed ? [5, 4] : []);
      g.beginPath(); g.moveTo(x, y); g.lineTo(x + 20, y); g.stroke(); g.setLineDash([]);
      g.fillStyle = "#1d2330"; g.fillText(entry.name, x + 26, y);
      y += 17;
    }
  }

  function draw(canvas, options) {
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, canvas.width, canvas.height);
    const range = extent(options);
    const box = {left: MARGIN.left, top: MARGIN.top,
                 width: canvas.width - MARGIN.left - MARGIN.right,
                 height: canvas.height - MARGIN.top - MARGIN.bottom};
    if (!range) {
      g.fillStyle = "#5c6475"; g.font = "13px system-ui, sans-serif"; g.textAlign = "center";
      g.fillText(options.empty || "no points yet", canvas.width / 2, canvas.height / 2);
      return;
    }
    const yOf = options.log ? v => Math.log10(v) : v => v;
    box.x = x => box.left + (x - range.xLow) / (range.xHigh - range.xLow) * box.width;
    box.y = y => box.top + box.height -
      (yOf(y) - yOf(range.yLow)) / (yOf(range.yHigh) - yOf(range.yLow)) * box.height;
    axes(g, box, range, options);
    const entries = [];
    for (const line of options.lines || []) {
      g.strokeStyle = line.colour || "#888"; g.lineWidth = 1.5; g.setLineDash([6, 4]);
      g.beginPath(); g.moveTo(box.left, box.y(line.y)); g.lineTo(box.left + box.width, box.y(line.y));
      g.stroke(); g.setLineDash([]);
      entries.push({name: line.label, colour: line.colour || "#888", dashed: true});
    }
    options.series.forEach((s, i) => {
      const colour = s.colour || COLOURS[i % COLOURS.length];
      const points = s.points.filter(([x, y]) => Number.isFinite(y) && (!options.log || y > 0));
      g.strokeStyle = colour; g.fillStyle = colour; g.lineWidth = 2;
      g.setLineDash(s.dashed ? [5, 4] : []);
      g.beginPath();
      points.forEach(([x, y], k) => k ? g.lineTo(box.x(x), box.y(y)) : g.moveTo(box.x(x), box.y(y)));
      g.stroke(); g.setLineDash([]);
      if (!options.noDots) {
        for (const [x, y] of points) { g.beginPath(); g.arc(box.x(x), box.y(y), 2.5, 0, 2 * Math.PI); g.fill(); }
      }
      entries.push({name: s.name, colour, dashed: s.dashed});
    });
    if (entries.length) legend(g, box, entries, options.legendAt || "bottom-right");
  }

  return {draw, COLOURS};
})();
