"use strict";
/* The live page of `train --watch`: polls GET /api/state every second and redraws what
   changed; fetches the first layer's pictures (GET /api/weights) and a confusion cell's
   digits (GET /api/cell) only when needed; Stop is POST /api/stop.  A reloaded page gets
   the whole history in its first answer. */

const POLL_MS = 1000;
const seen = {version: -1, pictures: -1, confusion: -1, chosen: null};

const $ = id => document.getElementById(id);

function percent(count, total) { return total ? 100 * count / total : NaN; }

function seconds(value) {
  if (value == null || !Number.isFinite(value)) return "?";
  if (value < 90) return `${Math.round(value)} s`;
  if (value < 5400) return `${Math.round(value / 60)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

// -- the curves --------------------------------------------------------------------------

function accuracySeries(history, state) {
  const series = [];
  const add = (name, values, total, colour) => {
    if (values && values.length) series.push({name, colour, points: values.map((v, i) => [i + 1, percent(v, total)])});
  };
  const name = state.evaluation_name;
  add(`${name} accuracy (%)`, history.evaluation_accuracy, history.n_evaluation, Chart.COLOURS[0]);
  add("validation accuracy (%)", history.validation_accuracy, history.n_validation, Chart.COLOURS[1]);
  add("training accuracy (%)", history.training_accuracy, history.n_training, Chart.COLOURS[2]);
  return series;
}

function drawCurves(state) {
  const history = state.history;
  const epochs = history ? history.seconds.length : 0;
  const book = state.book ? [{y: state.book.published, label: state.book.label, colour: "#777"}] : [];
  const series = history ? accuracySeries(history, state) : [];
  Chart.draw($("accuracy"), {series, lines: book, xLabel: "epoch", yLabel: "accuracy (%)",
                             integerX: true, empty: "the first epoch's accuracy comes at its end"});
  $("accuracy").dataset.epochs = String(epochs);
  $("accuracy-note").textContent = accuracyNote(state, history);
  const costs = [];
  if (history && history.training_cost.length) costs.push({name: "training cost", points: history.training_cost.map((v, i) => [i + 1, v]), colour: Chart.COLOURS[2]});
  if (history && history.evaluation_cost.length) costs.push({name: `${state.evaluation_name} cost`, points: history.evaluation_cost.map((v, i) => [i + 1, v]), colour: Chart.COLOURS[0]});
  $("costs-box").hidden = !costs.length;
  if (costs.length) {
    Chart.draw($("costs"), {series: costs, xLabel: "epoch", yLabel: "cost", integerX: true, legendAt: "top-right"});
    $("costs").dataset.epochs = String(epochs);
  }
}

function accuracyNote(state, history) {
  if (!history || !history.seconds.length) return state.book ? `The dashed line: ${state.book.label}.` : "";
  const parts = [];
  if (state.chapter6 && history.validation_accuracy.length) {
    const best = history.validation_accuracy.indexOf(Math.max(...history.validation_accuracy));
    parts.push(`Best validation epoch so far: ${best + 1} (validation ${percent(history.validation_accuracy[best], history.n_validation).toFixed(2)}%` +
               (history.evaluation_accuracy.length ? `, test there ${percent(history.evaluation_accuracy[best], history.n_evaluation).toFixed(2)}%, the book's measure)` : ")"));
  } else if (history.evaluation_accuracy.length) {
    const values = history.evaluation_accuracy;
    const best = values.indexOf(Math.max(...values));
    parts.push(`Best ${state.evaluation_name} accuracy so far ${percent(values[best], history.n_evaluation).toFixed(2)}% at epoch ${best + 1}.`);
  }
  parts.push(state.book ? `The dashed line: ${state.book.label}.` : "The book publishes no number for these settings.");
  return parts.join(" ");
}

// -- progress, speed, settings -------------------------------------------------------------

function drawProgress(state) {
  const p = state.progress;
  if (!p) return;
  const share = p.batch / p.batches_per_epoch;
  $("progress-bar").style.width = `${(100 * share).toFixed(1)}%`;
  $("progress").textContent = `Epoch ${p.epoch} of ${p.epochs}: ${p.batch} of ${p.batches_per_epoch} mini-batches, ` +
    `${p.images_per_second == null ? "?" : Math.round(p.images_per_second)} images/s, ` +
    `about ${seconds(p.seconds_left)} left in this epoch (eta ${p.eta})`;
}

function drawSpeed(state) {
  const speed = state.speed;
  const series = speed.layers.map((name, k) => ({name, points: speed.samples.map(s => [s[0], s[k + 1]])}));
  Chart.draw($("speed"), {series, xLabel: "epoch", yLabel: "|∂C/∂b|", log: true, noDots: true,
                          legendAt: "bottom-left", empty: "measured as the first epoch goes"});
}

function drawSettings(state) {
  const body = $("settings").tBodies[0];
  body.textContent = "";
  for (const [name, value] of Object.entries(state.settings)) {
    if (name === "description" || value === null || value === false || value === "") continue;
    const row = body.insertRow();
    const th = document.createElement("th");
    th.textContent = name.replace(/_/g, " ");
    row.appendChild(th);
    row.insertCell().textContent = Array.isArray(value) ? `[${value.join(", ")}]` : String(value);
  }
  const seed = state.settings.seed;
  $("description").textContent = `${state.settings.description}; seed ${seed === null ? "none (a different run each time)" : seed}`;
}

function drawStatus(state) {
  const status = $("status");
  const words = {starting: "starting", training: "training", stopping: "stopping after this mini-batch…",
                 stopped: "stopped", finished: "finished"};
  status.textContent = words[state.status] + (state.message ? `: ${state.message}` : "");
  status.className = `status ${state.status}`;
  $("stop").disabled = state.status !== "training";
}

// -- the first layer's pictures ---------------------------------------------------------------

function colour(byte) {
  // 128 is a weight of 0 (white); above it blue, below it red.
  const t = (byte - 128) / 127;
  const fade = 1 - Math.abs(t);
  return t >= 0 ? [Math.round(255 * fade + 33 * t), Math.round(255 * fade + 102 * t), Math.round(255 * fade + 172 * t)]
                : [Math.round(255 * fade + 178 * -t), Math.round(255 * fade + 24 * -t), Math.round(255 * fade + 43 * -t)];
}

function drawWeights(pictures) {
  const canvas = $("weights");
  const {count, height, width} = pictures;
  const bytes = Uint8Array.from(atob(pictures.pixels), c => c.charCodeAt(0));
  const columns = Math.min(count, 10), rows = Math.ceil(count / columns), gap = 1;
  canvas.width = columns * (width + gap) - gap;
  canvas.height = rows * (height + gap) - gap;
  const zoom = Math.max(1, Math.round(Math.min(560, 56 * columns) / canvas.width));
  canvas.style.width = `${canvas.width * zoom}px`;
  canvas.style.height = `${canvas.height * zoom}px`;
  const g = canvas.getContext("2d");
  const image = g.createImageData(canvas.width, canvas.height);
  image.data.fill(255);
  for (let k = 0; k < count; k++) {
    const left = (k % columns) * (width + gap), top = Math.floor(k / columns) * (height + gap);
    for (let i = 0; i < height; i++) {
      for (let j = 0; j < width; j++) {
        const [r, gr, b] = colour(bytes[k * height * width + i * width + j]);
        const at = 4 * ((top + i) * canvas.width + left + j);
        image.data[at] = r; image.data[at + 1] = gr; image.data[at + 2] = b; image.data[at + 3] = 255;
      }
    }
  }
  g.putImageData(image, 0, 0);
  canvas.dataset.position = String(pictures.position);
  const kind = height === 28 ? `${count} neurons' incoming weights, 28x28 each` : `${count} filters, ${height}x${width}`;
  $("weights-title").textContent = `What the first layer is learning (epoch ${pictures.position.toFixed(2)}: ${kind})`;
}

async function refreshWeights(state) {
  if (!state.pictures || state.pictures.version === seen.pictures) return;
  const answer = await fetch("/api/weights", {cache: "no-store"});
  if (!answer.ok) return;
  seen.pictures = state.pictures.version;
  drawWeights(await answer.json());
}

// -- the confusion matrix -------------------------------------------------------------------------

function drawConfusion(state) {
  const confusion = state.confusion;
  if (!confusion || confusion.epoch === seen.confusion) return;
  seen.confusion = confusion.epoch;
  const body = $("confusion").tBodies[0];
  body.textContent = "";
  const head = body.insertRow();
  head.appendChild(document.createElement("th")).textContent = "true \\ answer";
  for (let a = 0; a < 10; a++) head.appendChild(document.createElement("th")).textContent = a;
  const largest = Math.max(1, ...confusion.matrix.flatMap((row, t) => row.filter((_, a) => a !== t)));
  confusion.matrix.forEach((row, t) => {
    const tr = body.insertRow();
    tr.appendChild(document.createElement("th")).textContent = t;
    row.forEach((count, a) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = count;
      button.dataset.true = t; button.dataset.answer = a;
      const share = t === a ? 0.35 : Math.sqrt(count / largest);
      button.style.background = t === a ? "#dfeadf" : `rgba(192, 57, 43, ${(0.85 * share).toFixed(3)})`;
      button.style.color = t !== a && share > 0.55 ? "white" : "";
      if (count) button.addEventListener("click", () => openCell(t, a));
      else button.className = "empty";
      tr.insertCell().appendChild(button);
    });
  });
  $("confusion-title").textContent = `Confusion matrix of the ${state.evaluation_name} data after epoch ${confusion.epoch}`;
  if (seen.chosen) openCell(...seen.chosen);
}

async function openCell(t, a) {
  seen.chosen = [t, a];
  for (const button of $("confusion").querySelectorAll("button")) {
    button.classList.toggle("chosen", Number(button.dataset.true) === t && Number(button.dataset.answer) === a);
  }
  const answer = await fetch(`/api/cell?true=${t}&answer=${a}`, {cache: "no-store"});
  if (!answer.ok) return;
  const cell = await answer.json();
  const box = $("cell");
  box.textContent = "";
  const some = cell.shown < cell.count ? `a sample of ${cell.shown} of the ${cell.count}` : `all ${cell.count}`;
  $("cell-title").textContent = `${t} read as ${a}: ${some} (epoch ${cell.epoch}), least sure first`;
  for (const digit of cell.digits) {
    const figure = document.createElement("div");
    figure.className = "digit";
    const canvas = document.createElement("canvas");
    canvas.width = 28; canvas.height = 28;
    const g = canvas.getContext("2d");
    const image = g.createImageData(28, 28);
    const bytes = Uint8Array.from(atob(digit.pixels), c => c.charCodeAt(0));
    bytes.forEach((v, i) => { image.data.fill(255 - v, 4 * i, 4 * i + 3); image.data[4 * i + 3] = 255; });
    g.putImageData(image, 0, 0);
    figure.appendChild(canvas);
    figure.appendChild(document.createElement("span")).textContent = `${digit.answer} (${Math.round(100 * digit.confidence)}%)`;
    box.appendChild(figure);
  }
}

// -- polling -----------------------------------------------------------------------------------

async function poll() {
  try {
    const answer = await fetch("/api/state", {cache: "no-store"});
    if (!answer.ok) throw new Error(`status ${answer.status}`);
    const state = await answer.json();
    if (state.version !== seen.version) {
      seen.version = state.version;
      drawStatus(state); drawSettings(state); drawProgress(state);
      drawCurves(state); drawSpeed(state); drawConfusion(state);
      await refreshWeights(state);
    }
  } catch (error) {
    $("status").textContent = "the training process can no longer be reached (it has ended, or stopped serving)";
    $("status").className = "status gone";
    $("stop").disabled = true;
  }
  setTimeout(poll, POLL_MS);
}

$("stop").addEventListener("click", async () => {
  $("stop").disabled = true;
  await fetch("/api/stop", {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"});
});

poll();
