// The chapter-4 page of `python -m digits serve`: a [1, 2N, 1] sigmoid network built from
// N bumps whose heights the learner drags, beside the goal f, and (on request) a network
// of the same size that the server trains by gradient descent (POST api/universality/train).
//
// The network is the one digits.nn.universality builds: bump i covers [i/N, (i+1)/N);
// its hidden neurons step up at i/N and at (i+1)/N (weight w, bias -w s), their output
// weights are +h_i and -h_i with h_i = σ⁻¹(height_i), and the output neuron is a sigmoid
// with bias 0, so that inside bump i the output is the height the learner set.
"use strict";

const GRID_POINTS = 10001;      // where the average deviation is measured, as the server does
const HEIGHT_MARGIN = 1e-3;     // heights stay inside (0, 1): σ⁻¹(0) is -∞
const Y_RANGE = [0, 1];         // the plots' vertical axis

const field = (id) => document.getElementById(id);
const plot = field("plot");
const stepsCanvas = field("steps");
const bumpsInput = field("bumps");
const weightInput = field("weight");

let heights = Array(Number(bumpsInput.value)).fill(0.5);   // (a reload may keep the slider's value)
let trained = null;             // the server's last answer: {bumps, hidden, x, y, deviation, ...}
let dragging = null;            // the pointer's id while it drags
let drawPending = false;

// -- the mathematics, as digits.nn.universality has it --------------------------------

function goal(x) {
  return 0.2 + 0.4 * x * x + 0.3 * x * Math.sin(15 * x) + 0.05 * Math.cos(50 * x);
}

function sigmoid(z) {
  return 1 / (1 + Math.exp(-z));
}

function inverseSigmoid(y) {
  const kept = Math.min(Math.max(y, HEIGHT_MARGIN), 1 - HEIGHT_MARGIN);
  return Math.log(kept / (1 - kept));
}

function stepWeight() {
  return Math.round(10 ** Number(weightInput.value));
}

function network() {
  // The output weights h_i and the steps' positions, for the heights set now.
  const n = heights.length;
  return { n, w: stepWeight(), h: heights.map(inverseSigmoid) };
}

function output(net, x) {
  // σ(Σ_i h_i (σ(w (x - i/N)) - σ(w (x - (i+1)/N)))): the network's output at x.
  let z = 0;
  for (let i = 0; i < net.n; i++) {
    z += net.h[i] * (sigmoid(net.w * (x - i / net.n)) - sigmoid(net.w * (x - (i + 1) / net.n)));
  }
  return sigmoid(z);
}

function averageDeviation(net) {
  let total = 0;
  for (let k = 0; k < GRID_POINTS; k++) {
    const x = k / (GRID_POINTS - 1);
    total += Math.abs(output(net, x) - goal(x));
  }
  return total / GRID_POINTS;
}

function heightsFromGoal(n) {
  return Array.from({ length: n }, (_, i) => goal((i + 0.5) / n));
}

function resampled(old, n) {
  // New bumps keep the shape the learner made: each takes the old height at its centre.
  return Array.from({ length: n }, (_, i) => old[Math.min(old.length - 1, Math.floor((i + 0.5) / n * old.length))]);
}

// -- drawing ------------------------------------------------------------------------------

function prepare(canvas) {
  // The canvas's pixels follow its size on the page (and the screen's density).
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const pen = canvas.getContext("2d");
  pen.setTransform(ratio, 0, 0, ratio, 0, 0);
  pen.clearRect(0, 0, width, height);
  return { pen, width, height, pad: 28 };
}

function toPixels(view, x, y) {
  const { width, height, pad } = view;
  return [pad + x * (width - 2 * pad), height - pad - (y - Y_RANGE[0]) / (Y_RANGE[1] - Y_RANGE[0]) * (height - 2 * pad)];
}

function drawAxes(view) {
  const { pen } = view;
  pen.strokeStyle = "#d8dce3";
  pen.fillStyle = "#5c6475";
  pen.lineWidth = 1;
  pen.font = "11px system-ui, sans-serif";
  for (const y of [0, 0.5, 1]) {
    const [left, at] = toPixels(view, 0, y), [right] = toPixels(view, 1, y);
    pen.beginPath(); pen.moveTo(left, at); pen.lineTo(right, at); pen.stroke();
    pen.fillText(String(y), 4, at + 4);
  }
  for (const x of [0, 0.5, 1]) {
    const [at, bottom] = toPixels(view, x, 0);
    pen.fillText(String(x), at - 6, bottom + 16);
  }
}

function drawCurve(view, xs, ys, colour, width, dashed) {
  const { pen } = view;
  pen.strokeStyle = colour;
  pen.lineWidth = width;
  pen.setLineDash(dashed ? [6, 4] : []);
  pen.beginPath();
  xs.forEach((x, k) => {
    const [px, py] = toPixels(view, x, ys[k]);
    if (k === 0) pen.moveTo(px, py); else pen.lineTo(px, py);
  });
  pen.stroke();
  pen.setLineDash([]);
}

function drawPlot(net) {
  const view = prepare(plot);
  drawAxes(view);
  const samples = Math.max(400, Math.round(view.width * 2));
  const xs = Array.from({ length: samples + 1 }, (_, k) => k / samples);
  drawCurve(view, xs, xs.map(goal), "#1d2330", 2.5, false);
  drawCurve(view, xs, xs.map((x) => output(net, x)), "#2f6fd6", 1.8, false);
  if (trained) drawCurve(view, trained.x, trained.y, "#d0452f", 1.8, true);
  // A handle on each bump: drag it up or down.
  const { pen } = view;
  pen.fillStyle = "rgba(47, 111, 214, 0.85)";
  heights.forEach((height, i) => {
    const [left, y] = toPixels(view, i / net.n, height), [right] = toPixels(view, (i + 1) / net.n, height);
    const inset = Math.min(3, (right - left) / 4);
    pen.fillRect(left + inset, y - 3, right - left - 2 * inset, 6);
  });
  plot.dataset.trained = trained ? String(trained.bumps) : "";
}

function drawSteps(net) {
  const view = prepare(stepsCanvas);
  view.pad = 14;
  const { pen } = view;
  const samples = Math.max(300, Math.round(view.width));
  const xs = Array.from({ length: samples + 1 }, (_, k) => k / samples);
  for (let i = 0; i < net.n; i++) {
    const colour = `hsl(${(i * 137) % 360}, 60%, 45%)`;
    for (const [edge, dashed] of [[i / net.n, false], [(i + 1) / net.n, true]]) {
      drawCurve(view, xs, xs.map((x) => sigmoid(net.w * (x - edge))), colour, 1, dashed);
    }
  }
  stepsCanvas.dataset.neurons = String(2 * net.n);
}

function redraw() {
  drawPending = false;
  const net = network();
  drawPlot(net);
  drawSteps(net);
  const deviation = averageDeviation(net);
  field("deviation").textContent = deviation.toFixed(4);
  field("deviation").dataset.value = String(deviation);
  field("bumps-value").textContent = String(net.n);
  field("hidden-count").textContent = String(2 * net.n);
  field("weight-value").textContent = String(net.w);
}

function changed() {
  // Redraw at most once a frame, however fast the pointer moves.
  if (!drawPending) {
    drawPending = true;
    requestAnimationFrame(redraw);
  }
}

// -- dragging the bumps: mouse, pen and finger alike -------------------------------------

function setHeightAt(event) {
  const box = plot.getBoundingClientRect();
  const view = { width: plot.clientWidth, height: plot.clientHeight, pad: 28 };
  const x = (event.clientX - box.left - plot.clientLeft - view.pad) / (view.width - 2 * view.pad);
  const y = Y_RANGE[0] + (view.height - view.pad - (event.clientY - box.top - plot.clientTop))
    / (view.height - 2 * view.pad) * (Y_RANGE[1] - Y_RANGE[0]);
  const bump = Math.min(heights.length - 1, Math.max(0, Math.floor(x * heights.length)));
  heights[bump] = Math.min(1 - HEIGHT_MARGIN, Math.max(HEIGHT_MARGIN, y));
  changed();
}

plot.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  event.preventDefault();
  plot.setPointerCapture(event.pointerId);
  dragging = event.pointerId;
  setHeightAt(event);
});
plot.addEventListener("pointermove", (event) => {
  if (dragging === event.pointerId) setHeightAt(event);
});
for (const name of ["pointerup", "pointercancel"]) {
  plot.addEventListener(name, (event) => {
    if (dragging === event.pointerId) dragging = null;
  });
}

bumpsInput.addEventListener("input", () => {
  heights = resampled(heights, Number(bumpsInput.value));
  changed();
});
weightInput.addEventListener("input", changed);
field("from-f").addEventListener("click", () => { heights = heightsFromGoal(heights.length); changed(); });
field("flat").addEventListener("click", () => { heights = heights.map(() => 0.5); changed(); });
window.addEventListener("resize", changed);

// -- training on the server ---------------------------------------------------------------

async function train() {
  const button = field("train"), message = field("train-message");
  const bumps = heights.length;
  button.disabled = true;
  message.className = "";
  message.textContent = `Training a [1, ${2 * bumps}, 1] network by gradient descent…`;
  try {
    const response = await fetch("api/universality/train", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ bumps }),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || `the server answered ${response.status}`);
    trained = answer;
    field("trained-deviation").textContent = answer.deviation.toFixed(4);
    field("trained-deviation").dataset.value = String(answer.deviation);
    message.textContent = `[1, ${answer.hidden}, 1], ${answer.epochs} epochs in ${answer.seconds.toFixed(1)} s`
      + (answer.stopped ? " (stopped at the time limit)" : "") + ": the red dashed curve.";
    changed();
  } catch (error) {
    message.className = "problem";
    message.textContent = `Could not train: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

field("train").addEventListener("click", train);
redraw();
