// Inside the network: every layer of the loaded network for the drawing, one neuron's
// arithmetic, which pixels mattered, backpropagation on this digit, and one step of
// gradient descent taken by this page's own copy of the network.
//
// app.js hands over each drawing after the server has read it (insideView.read), and
// waits for this view to finish before it sends the next one, so the page has at most
// one request in flight while you draw; the latest drawing wins.  Within this view the
// requests also go one at a time: a part asked for while another runs is done next,
// once, with the latest drawing and choices (see `ask`).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const make = (tag, props = {}, ...children) => {
    const element = Object.assign(document.createElement(tag), props);
    element.append(...children);
    return element;
  };

  const EQUATIONS = {
    sigmoid: "σ(z) = 1 / (1 + e^−z)   (chapter 1, eq. 3)",
    tanh: "tanh(z) = (e^z − e^−z) / (e^z + e^−z)   (chapter 3)",
    relu: "max(0, z)   (chapter 3, rectified linear unit)",
    softmax: "a_j = e^z_j / Σ_k e^z_k   (chapter 3, eq. 78)",
  };
  const COSTS = {
    quadratic: "C = ½ ‖y − a^L‖²   (chapter 1, eq. 6, for this one example)",
    "cross-entropy": "C = −Σ_j [y_j ln a^L_j + (1 − y_j) ln(1 − a^L_j)]   (chapter 3, eq. 63)",
    "log-likelihood": "C = −ln a^L_y   (chapter 3, eq. 80)",
  };
  const KINDS = { fully_connected: "fully connected", softmax: "fully connected", conv_pool: "convolution + 2x2 pooling" };

  const state = {
    body: null,          // the latest drawing (a PNG blob, or the chosen file)
    generation: 0,       // moves on with Clear: older answers are dropped
    model: 0,
    models: [],
    page: null,          // the token of this page's copy of the network, after a step
    layers: null,        // the last /api/inside answer
    chosen: null,        // {layer, neuron}: the neuron shown in "One neuron"
    label: null,         // the label for backpropagation (null: the network's answer)
    digit: null,         // the digit of the saliency maps (null: the network's answer)
    overlay: "occlusion",
  };

  // -- the view, built once ---------------------------------------------------------------

  const root = $("inside");
  root.append(
    make("h2", { textContent: "Inside the network" }),
    make("p", { className: "lead", id: "inside-lead",
      textContent: "Every layer of the network for your drawing. Tap a neuron (or a feature map) to see its arithmetic." }),
    make("div", { className: "model-choice", id: "inside-model-choice", hidden: true },
      make("label", { htmlFor: "inside-model", textContent: "Look inside " }),
      make("select", { id: "inside-model" })),
    make("p", { id: "inside-message", className: "inside-message", role: "status" }),
    make("div", { className: "inside-grid" },
      make("section", { className: "panel layers-panel", id: "layers-panel" },
        make("h3", { textContent: "The layers" }),
        make("div", { id: "layers" }, make("p", { className: "empty", textContent: "Draw a digit to see its layers." }))),
      make("section", { className: "panel", id: "neuron-panel" },
        make("h3", { textContent: "One neuron" }),
        make("div", { id: "neuron" }, make("p", { className: "empty", textContent: "Tap a neuron of a layer." })),
        make("div", { className: "stepper", id: "neuron-stepper", hidden: true },
          make("button", { type: "button", id: "neuron-previous", textContent: "‹ Previous" }),
          make("label", { htmlFor: "neuron-number", textContent: "neuron " }),
          make("input", { type: "number", id: "neuron-number", min: 0, step: 1, inputMode: "numeric" }),
          make("button", { type: "button", id: "neuron-next", textContent: "Next ›" }))),
      make("section", { className: "panel", id: "saliency-panel" },
        make("h3", { textContent: "Which pixels mattered" }),
        make("div", { className: "controls" },
          make("label", { htmlFor: "saliency-digit", textContent: "for the digit " }),
          make("select", { id: "saliency-digit" }),
          make("span", { className: "toggle", role: "radiogroup" },
            make("button", { type: "button", id: "show-occlusion", className: "on", textContent: "Occlusion" }),
            make("button", { type: "button", id: "show-gradient", textContent: "Gradient" }))),
        make("canvas", { id: "saliency", width: 28, height: 28 }),
        make("p", { id: "saliency-caption", className: "caption" })),
      make("section", { className: "panel backprop-panel", id: "backprop-panel" },
        make("h3", { textContent: "Backpropagation on this digit" }),
        make("p", { className: "caption", textContent: "Which digit is it really? (The network's answer is marked.)" }),
        make("div", { className: "labels", id: "labels" }),
        make("p", { id: "cost", className: "equation" }),
        make("div", { id: "deltas" }),
        make("p", { className: "caption", textContent: "BP3 ∂C/∂b^l = δ^l and BP4 ∂C/∂w^l = δ^l (a^(l−1))^T, as sizes: " +
          "how fast each layer learns from this one example (the learning speed of chapter 5)" }),
        make("table", { id: "gradients", className: "gradients" }),
        make("div", { id: "nabla-neuron" }),
        make("div", { className: "learn" },
          make("h4", { textContent: "Learn from this digit" }),
          make("p", { className: "caption", textContent: "One step of gradient descent, w → w − η ∂C/∂w and b → b − η ∂C/∂b " +
            "(chapter 1, eqs. 20 and 21 with one example), taken by a copy of the network kept for this page only." }),
          make("div", { className: "controls" },
            make("label", { htmlFor: "eta", textContent: "η = " }),
            make("input", { type: "number", id: "eta", value: "0.5", min: "0", step: "any", inputMode: "decimal" }),
            make("button", { type: "button", id: "learn", textContent: "Learn from this digit" }),
            make("button", { type: "button", id: "reset", textContent: "Reset" })),
          make("p", { id: "steps", className: "caption", textContent: "The network is the one loaded: no steps taken." }),
          make("div", { id: "before-after", className: "before-after" })))));

  for (let digit = 0; digit < 10; digit += 1) {
    $("labels").append(make("button", { type: "button", className: "label-choice", textContent: digit, value: digit }));
  }
  $("saliency-digit").append(make("option", { value: "", textContent: "the network's answer" }),
    ...Array.from({ length: 10 }, (_, digit) => make("option", { value: digit, textContent: digit })));

  // -- talking to the server, one request at a time ---------------------------------------

  const ORDER = ["step", "reset", "inside", "neuron", "backprop", "saliency"];
  const pending = new Set();
  let running = null;

  function ask(...parts) {
    for (const part of parts) pending.add(part);
    if (!running) running = work();
    return running;
  }

  async function work() {
    while (pending.size) {
      const part = ORDER.find((name) => pending.has(name));
      pending.delete(part);
      const asked = state.generation;
      try {
        await PARTS[part](asked);
        if (asked === state.generation) say("");
      } catch (error) {
        if (asked === state.generation) say(error.message);
      }
    }
    running = null;
  }

  async function post(route, params = {}) {
    const query = new URLSearchParams({ model: state.model, ...params });
    if (state.page) query.set("page", state.page);
    const response = await fetch(`api/${route}?${query}`, { method: "POST", body: state.body || new Blob() });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error);
    if (answer.copy === null && state.page && route !== "step") {
      state.page = null;        // the server forgot this page's copy (too old, or too many)
      $("steps").textContent = "The copy was forgotten by the server; the network is the one loaded again.";
    }
    return answer;
  }

  function say(text) { $("inside-message").textContent = text; }

  const PARTS = {
    async inside(asked) {
      if (!state.body) return;
      const answer = await post("inside");
      if (asked !== state.generation) return;
      state.layers = answer;
      if (state.chosen && !validChoice(state.chosen)) state.chosen = null;
      showLayers(answer);
    },
    async neuron(asked) {
      if (!state.body || !state.chosen || !state.layers) return;
      const params = { layer: state.chosen.layer, neuron: state.chosen.neuron };
      const answer = await post("neuron", params);
      if (asked === state.generation) showNeuron(answer);
    },
    async backprop(asked) {
      if (!state.body) return;
      const params = state.label === null ? {} : { label: state.label };
      if (state.chosen && state.chosen.layer === 0) params.neuron = state.chosen.neuron;
      const answer = await post("backprop", params);
      if (asked === state.generation) showBackprop(answer);
    },
    async saliency(asked) {
      if (!state.body) return;
      const answer = await post("saliency", state.digit === null ? {} : { digit: state.digit });
      if (asked === state.generation) { state.saliency = answer; showSaliency(); }
    },
    async step(asked) {
      if (!state.body || !state.layers) return;
      const label = state.label === null ? state.layers.digit : state.label;
      const answer = await post("step", { label, eta: $("eta").value });
      if (asked !== state.generation) return;
      state.page = answer.page;
      showStep(answer);
      ask("inside", "neuron", "backprop", "saliency");
    },
    async reset() {
      if (state.page) await post("reset");
      state.page = null;
      $("steps").textContent = "Reset: the network is the one loaded again.";
      $("before-after").replaceChildren();
      ask("inside", "neuron", "backprop", "saliency");
    },
  };

  // What app.js calls: a drawing the server has read, and Clear.
  window.insideView = {
    read(body, stale) {
      state.body = body;
      ask("inside", "neuron");
      return running.then(() => (stale() ? null : ask("backprop", "saliency")));
    },
    clear() {
      state.generation += 1;
      state.body = null;
      state.layers = null;
      pending.clear();
      say("");
      $("layers").replaceChildren(make("p", { className: "empty", textContent: "Draw a digit to see its layers." }));
      for (const id of ["cost", "deltas", "gradients", "nabla-neuron", "saliency-caption"]) $(id).replaceChildren();
      $("saliency").getContext("2d").clearRect(0, 0, 28, 28);
      if (state.chosen) $("neuron").replaceChildren(make("p", { className: "empty", textContent: "Draw a digit." }));
    },
  };

  function validChoice(chosen) {
    const layer = state.layers.layers[chosen.layer];
    return layer && chosen.neuron < layer.shape[0];
  }

  function choose(layer, neuron) {
    const size = state.layers.layers[layer].shape[0];
    state.chosen = { layer, neuron: Math.max(0, Math.min(size - 1, neuron)) };
    showLayers(state.layers);
    ask("neuron", ...(layer === 0 ? ["backprop"] : []));
  }

  // -- colours and pictures ------------------------------------------------------------------

  function largest(values) {
    let top = 0;
    for (const value of values) if (Number.isFinite(value)) top = Math.max(top, Math.abs(value));
    return top || 1;
  }

  // Activations: white (0) to the accent's blue (the layer's largest, or 1 for σ and softmax);
  // signed numbers (weights, δ, gradients): red below 0, blue above, white at 0.
  function colour(value, top, signed) {
    if (!Number.isFinite(value)) return [216, 220, 227];     // no number: the lines' grey
    const t = Math.max(-1, Math.min(1, value / top));
    if (!signed || t >= 0) return [Math.round(255 - 208 * t), Math.round(255 - 144 * t), Math.round(255 - 41 * t)];
    return [Math.round(255 + 26 * t), Math.round(255 + 183 * t), Math.round(255 + 175 * t)];
  }

  function scaleFor(activation, values) {
    return activation === "sigmoid" || activation === "softmax" || activation === "tanh" ? 1 : largest(values);
  }

  function drawPicture(canvas, rows, { signed = true, top = null, under = null } = {}) {
    const height = rows.length, width = rows[0].length;
    canvas.width = width;
    canvas.height = height;
    const flat = rows.flat();
    const scale = top || largest(flat);
    const pixels = new ImageData(width, height);
    flat.forEach((value, i) => {
      let rgb = colour(value, scale, signed);
      if (under) {           // the input's ink shown under an overlay, as grey
        const grey = 1 - 0.6 * under[i];
        rgb = rgb.map((channel) => Math.round(channel * grey));
      }
      pixels.data.set([...rgb, 255], 4 * i);
    });
    canvas.getContext("2d").putImageData(pixels, 0, 0);
    return canvas;
  }

  // A layer's neurons as a grid of square cells; returns the canvas (cells are tapped on it).
  function drawCells(canvas, values, { top, signed, selected = -1, labels = null, width }) {
    const n = values.length;
    const cell = n <= 100 ? 44 : n <= 400 ? 22 : 12;
    const columns = Math.max(1, Math.min(n, Math.floor(width / cell)));
    const rows = Math.ceil(n / columns);
    const ratio = window.devicePixelRatio || 1;
    canvas.width = columns * cell * ratio;
    canvas.height = rows * cell * ratio;
    canvas.style.width = `${columns * cell}px`;
    canvas.style.height = `${rows * cell}px`;
    canvas.dataset.cell = cell;
    canvas.dataset.columns = columns;
    const pen = canvas.getContext("2d");
    pen.scale(ratio, ratio);
    values.forEach((value, i) => {
      const x = (i % columns) * cell, y = Math.floor(i / columns) * cell;
      pen.fillStyle = `rgb(${colour(value, top, signed)})`;
      pen.fillRect(x + 1, y + 1, cell - 2, cell - 2);
      if (cell >= 20) {
        pen.strokeStyle = "#d8dce3";
        pen.lineWidth = 1;
        pen.strokeRect(x + 1.5, y + 1.5, cell - 3, cell - 3);
      }
      if (labels) {
        pen.fillStyle = Math.abs(value / top) > 0.55 ? "white" : "#1d2330";
        pen.font = "600 15px system-ui, sans-serif";
        pen.textAlign = "center";
        pen.textBaseline = "middle";
        pen.fillText(labels[i], x + cell / 2, y + cell / 2);
      }
    });
    if (selected >= 0) {
      pen.strokeStyle = "#e8590c";
      pen.lineWidth = 3;
      pen.strokeRect((selected % columns) * cell + 1.5, Math.floor(selected / columns) * cell + 1.5, cell - 3, cell - 3);
    }
    return canvas;
  }

  function cellAt(canvas, event) {
    const box = canvas.getBoundingClientRect();
    const cell = Number(canvas.dataset.cell), columns = Number(canvas.dataset.columns);
    const column = Math.floor((event.clientX - box.left) / cell), row = Math.floor((event.clientY - box.top) / cell);
    return column < columns ? row * columns + column : -1;
  }

  const panelWidth = (element) => Math.max(200, element.clientWidth - 4);

  // -- 1. the layers -----------------------------------------------------------------------

  function layerTitle(layer, index, count) {
    const where = index === count - 1 ? "output layer" : `hidden layer ${index + 1}`;
    const size = layer.kind === "conv_pool"
      ? `${layer.shape[0]} feature maps of ${layer.shape[1]}x${layer.shape[2]}`
      : `${layer.shape[0]} neurons`;
    return `Layer ${index + 1} (${where}): ${KINDS[layer.kind]}, ${size}, ${layer.activation}`;
  }

  function showLayers(answer) {
    const container = $("layers");
    const width = panelWidth(container);
    const blocks = answer.layers.map((layer, index) => {
      const block = make("div", { className: "layer", id: `layer-${index}` });
      block.append(make("h4", { textContent: layerTitle(layer, index, answer.layers.length) }));
      const selected = state.chosen && state.chosen.layer === index ? state.chosen.neuron : -1;
      if (layer.kind === "conv_pool") block.append(featureMaps(layer, index, selected));
      else {
        const last = index === answer.layers.length - 1;
        const canvas = drawCells(make("canvas", { className: "cells" }), layer.a, {
          top: scaleFor(layer.activation, layer.a), signed: layer.activation === "tanh", selected,
          labels: last ? layer.a.map((_, digit) => digit) : null, width });
        canvas.setAttribute("aria-label", `${layer.shape[0]} neurons; tap one to see its arithmetic`);
        canvas.addEventListener("click", (event) => {
          const neuron = cellAt(canvas, event);
          if (neuron >= 0 && neuron < layer.a.length) choose(index, neuron);
        });
        block.append(canvas);
      }
      return block;
    });
    const copy = answer.copy ? ` (this page's copy, after ${answer.copy.steps} step${answer.copy.steps === 1 ? "" : "s"})` : "";
    $("inside-lead").textContent = `Every layer of ${answer.model}${copy} for your drawing; it reads ${answer.digit}. ` +
      "Tap a neuron (or a feature map) to see its arithmetic.";
    container.replaceChildren(...blocks);
  }

  function featureMaps(layer, index, selected) {
    const maps = make("div", { className: "maps" });
    const top = scaleFor(layer.activation, layer.a.flat(2));
    layer.a.forEach((map, f) => {
      const tile = make("button", { type: "button", className: `map${f === selected ? " selected" : ""}`,
        title: `map ${f}`, ariaLabel: `feature map ${f}` });
      tile.append(drawPicture(make("canvas", { className: "map-image" }), map, { signed: layer.activation === "tanh", top }),
        drawPicture(make("canvas", { className: "filter-image" }), layer.filters[f]));
      tile.addEventListener("click", () => choose(index, f));
      maps.append(tile);
    });
    return maps;
  }

  // -- 2. one neuron ---------------------------------------------------------------------------

  function showNeuron(answer) {
    const layer = state.layers.layers[answer.layer];
    const panel = $("neuron");
    const conv = answer.kind === "conv_pool";
    const name = conv ? `feature map ${answer.neuron} at row ${answer.position[0]}, column ${answer.position[1]}`
      : `neuron ${answer.neuron}`;
    const weights = showWeights(make("canvas", { className: "weights", id: "neuron-weights" }), answer.weights);
    const parts = [
      make("h4", { id: "neuron-title", textContent: `Layer ${answer.layer + 1}, ${name} (${answer.activation})` }),
      make("figure", {}, weights, make("figcaption", { textContent: weightsCaption(answer) })),
    ];
    if (conv) {
      parts.push(make("p", { className: "equation", textContent:
        "Each of the 2x2 block's four windows: s = Σ_l Σ_m w_l,m a_(j+l),(k+m)   (chapter 6, eq. 125)" }),
      make("p", { className: "equation", textContent:
        `s = ${answer.window_sums.map(fixed).join(", ")}; ${answer.pooling} pooling gives ${fixed(answer.pooled)}` }));
    }
    parts.push(
      make("p", { className: "equation", textContent: "z = Σ_j w_j a_j + b   (chapter 2, eq. 23)" }),
      make("p", { className: "equation", id: "neuron-sum" },
        `z = ${fixed(conv ? answer.pooled : answer.sum)} + (${fixed(answer.bias)}) = `,
        make("strong", { id: "neuron-z", textContent: fixed(answer.z) })),
      make("p", { className: "caption", textContent: `The largest of its ${answer.inputs} products w_j a_j` +
        (conv ? (answer.pooling === "max" ? " (the winning window's):" : " (the first window's):") : ":") }),
      make("ol", { className: "products" }, ...answer.largest.map((term) => make("li", {
        textContent: `${inputName(term.input, answer)}: ${fixed(term.weight)} × ${fixed(term.activation)} = ${fixed(term.product)}` }))),
      make("p", { className: "equation", textContent: `a = ${EQUATIONS[answer.activation]}` }),
      make("p", { className: "equation" }, "a = σ(z) = ", make("strong", { id: "neuron-a", textContent: fixed(answer.a) })),
      activationPlot(answer, layer));
    panel.replaceChildren(...parts);
    $("neuron-stepper").hidden = false;
    $("neuron-number").max = layer.shape[0] - 1;
    $("neuron-number").value = answer.neuron;
  }

  function strip(weights) {
    // A later neuron's weights as a strip, wrapped into rows of at most 50.
    const width = Math.min(50, weights.length);
    const rows = [];
    for (let i = 0; i < weights.length; i += width) rows.push(weights.slice(i, i + width));
    while (rows[rows.length - 1].length < width) rows[rows.length - 1].push(0);
    return rows;
  }

  // Weights as a picture: a 28x28 grid as it is, a strip wrapped into rows, and a stack
  // of maps or filters ([maps, rows, columns]) side by side, ten to a row, one pixel apart.
  function showWeights(canvas, weights) {
    let rows = weights;
    if (!Array.isArray(weights[0])) rows = strip(weights);
    else if (Array.isArray(weights[0][0])) rows = tiles(weights);
    drawPicture(canvas, rows);
    const pixel = Math.max(2, Math.min(12, Math.floor(240 / rows[0].length)));
    canvas.style.width = `${pixel * rows[0].length}px`;
    canvas.style.height = `${pixel * rows.length}px`;
    return canvas;
  }

  function tiles(maps) {
    const height = maps[0].length, width = maps[0][0].length, across = Math.min(10, maps.length);
    const rows = [];
    maps.forEach((map, i) => {
      const top = Math.floor(i / across) * (height + 1), left = (i % across) * (width + 1);
      while (rows.length < top + height + 1) rows.push(new Array(across * (width + 1) - 1).fill(NaN));
      map.forEach((row, y) => row.forEach((value, x) => { rows[top + y][left + x] = value; }));
    });
    return rows.slice(0, rows.length - 1);
  }

  function weightsCaption(answer) {
    if (answer.kind === "conv_pool") {
      return `Its shared ${answer.weights[0].length}x${answer.weights[0].length} filter` +
        (answer.weights.length > 1 ? `, one for each of the ${answer.weights.length} maps below, side by side` : "") +
        ": blue weights are positive, red negative";
    }
    if (answer.layer === 0 && Array.isArray(answer.weights[0])) {
      return "Its 784 weights, one per pixel, as a 28x28 picture: blue positive, red negative";
    }
    if (Array.isArray(answer.weights[0])) {
      return `Its ${answer.inputs} weights, one per position of the ${answer.weights.length} feature maps below, ` +
        "map by map: blue positive, red negative";
    }
    return `Its ${answer.inputs} weights, one per neuron below, as a strip: blue positive, red negative`;
  }

  function inputName(input, answer) {
    if (Array.isArray(input)) {
      const [channel, row, column] = input;
      const [top, left] = answer.window;
      return answer.layer === 0 ? `pixel (${top + row}, ${left + column})`
        : `map ${channel} (${top + row}, ${left + column})`;
    }
    if (answer.layer === 0) return `pixel (${Math.floor(input / 28)}, ${input % 28})`;
    const below = state.layers.layers[answer.layer - 1];
    if (below.kind === "conv_pool") {
      const [, height, width] = below.shape;
      const map = Math.floor(input / (height * width)), place = input % (height * width);
      return `map ${map} (${Math.floor(place / width)}, ${place % width})`;
    }
    return `neuron ${input} below`;
  }

  function fixed(value) {
    const size = Math.abs(value);
    return size !== 0 && (size < 1e-3 || size >= 1e4) ? value.toExponential(3) : value.toFixed(4);
  }

  // a = σ(z) drawn over z, with this neuron's point marked.  For softmax the other
  // outputs' z are held fixed: a_j = e^z / (e^z + Σ_(k≠j) e^z_k).
  function activationPlot(answer, layer) {
    const canvas = make("canvas", { className: "activation-plot", id: "activation-plot", width: 280, height: 140 });
    const z = answer.z;
    const low = Math.min(-6, z - 1), high = Math.max(6, z + 1);
    let others = 0;
    if (answer.activation === "softmax") {
      layer.z.forEach((value, k) => { if (k !== answer.neuron) others += Math.exp(value - z); });
    }
    const sigma = {
      sigmoid: (t) => 1 / (1 + Math.exp(-t)),
      tanh: Math.tanh,
      relu: (t) => Math.max(0, t),
      softmax: (t) => 1 / (1 + others * Math.exp(z - t)),
    }[answer.activation];
    const samples = Array.from({ length: 141 }, (_, i) => low + (high - low) * i / 140);
    const values = samples.map(sigma);
    const bottom = Math.min(0, ...values), top = Math.max(1, ...values);
    const pen = canvas.getContext("2d");
    const x = (t) => 30 + (t - low) / (high - low) * 240;
    const y = (a) => 125 - (a - bottom) / (top - bottom) * 110;
    pen.strokeStyle = "#d8dce3";
    pen.beginPath();
    pen.moveTo(x(low), y(0)); pen.lineTo(x(high), y(0));
    pen.moveTo(x(0), y(bottom)); pen.lineTo(x(0), y(top));
    pen.stroke();
    pen.strokeStyle = "#2f6fd6";
    pen.lineWidth = 2;
    pen.beginPath();
    samples.forEach((t, i) => (i ? pen.lineTo(x(t), y(values[i])) : pen.moveTo(x(t), y(values[i]))));
    pen.stroke();
    pen.fillStyle = "#e8590c";
    pen.beginPath();
    pen.arc(x(z), y(answer.a), 5, 0, 2 * Math.PI);
    pen.fill();
    pen.fillStyle = "#5c6475";
    pen.font = "12px system-ui, sans-serif";
    pen.fillText(`z = ${fixed(z)}, a = ${fixed(answer.a)}`, 36, 14);
    return canvas;
  }

  $("neuron-previous").addEventListener("click", () => state.chosen && choose(state.chosen.layer, state.chosen.neuron - 1));
  $("neuron-next").addEventListener("click", () => state.chosen && choose(state.chosen.layer, state.chosen.neuron + 1));
  $("neuron-number").addEventListener("change", () => {
    const number = parseInt($("neuron-number").value, 10);
    if (state.chosen && Number.isFinite(number)) choose(state.chosen.layer, number);
  });

  // -- 3. which pixels mattered -------------------------------------------------------------

  function showSaliency() {
    const answer = state.saliency;
    if (!answer || !state.layers) return;
    const map = state.overlay === "occlusion" ? answer.occlusion : answer.gradient;
    drawPicture($("saliency"), map, { under: state.layers.image.flat() });
    $("saliency-caption").textContent = state.overlay === "occlusion"
      ? `How much the output for ${answer.digit} falls when each ${answer.patch}x${answer.patch} patch around a pixel is erased ` +
        "(blue: the ink there supported it; red: erasing it would raise it)."
      : `The gradient ∂a_${answer.digit}/∂x of the output for ${answer.digit} with respect to each pixel, by backpropagation ` +
        "(blue: more ink there raises the output; red: lowers it).";
  }

  for (const [id, overlay] of [["show-occlusion", "occlusion"], ["show-gradient", "gradient"]]) {
    $(id).addEventListener("click", () => {
      state.overlay = overlay;
      $("show-occlusion").classList.toggle("on", overlay === "occlusion");
      $("show-gradient").classList.toggle("on", overlay === "gradient");
      showSaliency();
    });
  }
  $("saliency-digit").addEventListener("change", () => {
    const value = $("saliency-digit").value;
    state.digit = value === "" ? null : Number(value);
    ask("saliency");
  });

  // -- 4. backpropagation on this digit ------------------------------------------------------

  function showBackprop(answer) {
    const layers = state.layers.layers;
    for (const button of $("labels").children) {
      button.classList.toggle("on", Number(button.value) === answer.label);
      button.classList.toggle("network-answer", Number(button.value) === state.layers.digit);
    }
    $("cost").replaceChildren(`${COSTS[answer.cost_name]}: for the label ${answer.label}, C = `,
      make("strong", { id: "cost-value", textContent: fixed(answer.cost) }));
    const width = panelWidth($("deltas"));
    const deltas = answer.layers.map((gradient, index) => {
      const last = index === answer.layers.length - 1;
      const title = last ? "BP1, the output error: δ^L = ∇_a C ⊙ σ'(z^L)"
        : `BP2, layer ${index + 1}: δ^l = ((w^(l+1))^T δ^(l+1)) ⊙ σ'(z^l)`;
      const values = gradient.delta.flat(2);
      const block = make("div", { className: "delta", id: `delta-${index}` }, make("h4", { textContent: title }));
      if (layers[index].kind === "conv_pool") {
        const maps = make("div", { className: "maps" });
        const top = largest(values);
        gradient.delta.forEach((map) => maps.append(make("span", { className: "map" },
          drawPicture(make("canvas", { className: "map-image" }), map, { top }))));
        block.append(maps);
      } else {
        block.append(drawCells(make("canvas", { className: "cells" }), values,
          { top: largest(values), signed: true, labels: last ? values.map((_, d) => d) : null, width }));
      }
      return block;
    });
    $("deltas").replaceChildren(...deltas.reverse());     // BP1 first, then back through the layers
    $("gradients").replaceChildren(
      make("tr", {}, ...["Layer", "‖∂C/∂b‖", "‖∂C/∂w‖", "‖w‖"].map((text) => make("th", { textContent: text }))),
      ...answer.layers.map((gradient, index) => make("tr", {},
        make("td", { textContent: `${index + 1} (${gradient.nabla_w_shape.join("x")} weights)` }),
        make("td", { textContent: fixed(gradient.nabla_b_norm) }),
        make("td", { textContent: fixed(gradient.nabla_w_norm) }),
        make("td", { textContent: fixed(gradient.weights_norm) }))));
    const picture = showWeights(make("canvas", { className: "weights", id: "nabla-picture" }), answer.nabla_w_neuron);
    $("nabla-neuron").replaceChildren(make("figure", {}, picture, make("figcaption", {
      textContent: `∂C/∂w of layer 1's ${layers[0].kind === "conv_pool" ? "feature map" : "neuron"} ${answer.neuron} ` +
        "(BP4: δ times each input; tap a neuron of layer 1 to choose another)" })));
  }

  $("labels").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    state.label = Number(button.value);
    ask("backprop");
  });

  // -- learning from this digit --------------------------------------------------------------

  function showStep(answer) {
    $("steps").textContent = `${answer.steps} step${answer.steps === 1 ? "" : "s"} taken by this page's copy ` +
      `(label ${answer.label}, η = ${answer.eta}): the cost went from ${fixed(answer.cost_before)} to ${fixed(answer.cost_after)}; ` +
      `the network reads ${answer.digit_after} (it read ${answer.digit_before}).`;
    const rows = [["before", answer.before, answer.digit_before], ["after", answer.after, answer.digit_after]];
    $("before-after").replaceChildren(...rows.map(([name, outputs, best]) => make("div", { className: "outputs", id: `outputs-${name}` },
      make("span", { className: "name", textContent: name }),
      ...outputs.map((value, digit) => {
        const bar = make("span", {
          className: `bar${digit === best ? " best" : ""}${digit === answer.label ? " label" : ""}`,
          title: `${digit}: ${fixed(value)}` },
        make("span", { className: "fill", style: `height: ${Math.round(100 * Math.max(0, Math.min(1, value)))}%` }),
        make("span", { className: "digit", textContent: digit }));
        bar.dataset.value = value;
        return bar;
      }))));
  }

  $("learn").addEventListener("click", () => {
    const eta = Number($("eta").value);
    if (!(eta > 0)) { say("η must be a positive number"); return; }
    ask("step");
  });
  $("reset").addEventListener("click", () => ask("reset"));

  // -- 5. the models ------------------------------------------------------------------------

  async function describeModels() {
    try {
      const description = await (await fetch("api/model")).json();
      state.models = description.models;
      const select = $("inside-model");
      select.replaceChildren(...state.models.map((model, index) =>
        make("option", { value: index, textContent: `${model.name}: ${model.description}` })));
      $("inside-model-choice").hidden = state.models.length < 2;
      useModelsEta();
    } catch {
      // app.js says the server cannot be reached
    }
  }

  function useModelsEta() {
    const hyperparameters = (state.models[state.model] || {}).metadata?.hyperparameters;
    if (hyperparameters && Number(hyperparameters.eta) > 0) $("eta").value = hyperparameters.eta;
  }

  $("inside-model").addEventListener("change", () => {
    if (state.page) ask("reset");
    state.model = Number($("inside-model").value);
    state.chosen = null;
    $("neuron").replaceChildren(make("p", { className: "empty", textContent: "Tap a neuron of a layer." }));
    $("neuron-stepper").hidden = true;
    useModelsEta();
    ask("inside", "backprop", "saliency");
  });

  describeModels();
})();
