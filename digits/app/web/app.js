// The page of `python -m digits serve`.
//
// Whatever is on the canvas goes to the server (POST api/classify, as a PNG) while
// you draw, one request at a time: when an answer comes back and the drawing has
// changed meanwhile, the latest drawing goes next.  The answer fills the right side:
// the digit and its confidence, the 28x28 image the network saw, its ten outputs,
// and with several models each model's reading and the vote.
"use strict";

const BRUSH_WIDTH = 20;        // canvas pixels of 280: a marker, as `digits draw` uses

const canvas = document.getElementById("canvas");
const pen = canvas.getContext("2d");
const seen = document.getElementById("seen").getContext("2d");
const fileInput = document.getElementById("file");
const bars = buildBars(document.getElementById("bars"));
const field = (id) => document.getElementById(id);

let maxBody = 8e6;      // the server says how large a picture may be (api/model)
let inked = false;             // is anything on the canvas?
let generation = 0;            // Clear moves on a generation: older answers are dropped
let reading = false;           // a request is on its way
let waiting = null;            // the next picture to send, () => Promise<Blob>

// -- drawing, with pointer events: mouse, pen and finger alike -------------------------

let last = null;               // where the pointer is while it is down, in canvas pixels

function canvasPoint(event) {
  // From the page's CSS pixels to the canvas's own 280x280, inside the border.
  const box = canvas.getBoundingClientRect();
  return {
    x: (event.clientX - box.left - canvas.clientLeft) * canvas.width / canvas.clientWidth,
    y: (event.clientY - box.top - canvas.clientTop) * canvas.height / canvas.clientHeight,
  };
}

canvas.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);   // keep drawing when the pointer strays off
  last = canvasPoint(event);
  pen.beginPath();                             // a dot where the pen touches down
  pen.arc(last.x, last.y, BRUSH_WIDTH / 2, 0, 2 * Math.PI);
  pen.fill();
  drawn();
});

canvas.addEventListener("pointermove", (event) => {
  if (last === null) return;
  // A fast stroke delivers several positions per event; use them all for a smooth line.
  const moves = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const move of moves.length ? moves : [event]) {
    const point = canvasPoint(move);
    pen.beginPath();
    pen.moveTo(last.x, last.y);
    pen.lineTo(point.x, point.y);
    pen.stroke();
    last = point;
  }
  drawn();
});

for (const name of ["pointerup", "pointercancel"]) {
  canvas.addEventListener(name, () => { last = null; });
}

function drawn() {
  inked = true;
  read(() => new Promise((resolve) => canvas.toBlob(resolve, "image/png")));
}

function clearCanvas() {
  pen.fillStyle = "white";
  pen.fillRect(0, 0, canvas.width, canvas.height);
  pen.fillStyle = pen.strokeStyle = "black";
  pen.lineWidth = BRUSH_WIDTH;
  pen.lineCap = pen.lineJoin = "round";
  inked = false;
  generation += 1;
  waiting = null;
  showNothing("Draw a digit");
  if (window.insideView) window.insideView.clear();
}

field("clear").addEventListener("click", clearCanvas);
document.addEventListener("keydown", (event) => {
  if ((event.key === "c" || event.key === "Escape") && !event.ctrlKey && !event.metaKey) {
    clearCanvas();
  }
});

// -- a picture file, chosen or dropped -------------------------------------------------

fileInput.addEventListener("change", () => {
  readFile(fileInput.files[0]);
  fileInput.value = "";        // choosing the same file again reads it again
});

document.addEventListener("dragover", (event) => {
  event.preventDefault();
  document.body.classList.add("dropping");
});
document.addEventListener("dragleave", (event) => {
  if (event.relatedTarget === null) document.body.classList.remove("dropping");
});
document.addEventListener("drop", (event) => {
  event.preventDefault();
  document.body.classList.remove("dropping");
  readFile(event.dataTransfer.files[0]);
});

function readFile(file) {
  if (!file) return;
  clearCanvas();
  if (file.size > maxBody) {
    showNothing("", `${file.name} is ${megabytes(file.size)}; the server reads pictures of ` +
                    `up to ${megabytes(maxBody)}`);
    return;
  }
  showOnCanvas(file);
  inked = true;
  read(() => Promise.resolve(file));  // the file itself, so nothing is lost on the way
}

async function showOnCanvas(file) {
  // Show the picture on the canvas (drawing more on it sends the canvas instead).
  try {
    const picture = await createImageBitmap(file);
    const scale = Math.min(canvas.width / picture.width, canvas.height / picture.height);
    const width = picture.width * scale, height = picture.height * scale;
    pen.drawImage(picture, (canvas.width - width) / 2, (canvas.height - height) / 2,
                  width, height);
  } catch {
    // The browser cannot show it; the server may still read it, or will say why not.
  }
}

function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

// -- asking the server -----------------------------------------------------------------

function read(picture) {
  waiting = picture;
  if (!reading) readNext();
}

async function readNext() {
  const picture = waiting;
  waiting = null;
  if (picture === null || !inked) return;
  reading = true;
  const asked = generation;
  try {
    const body = await picture();
    const response = await fetch("api/classify", { method: "POST", body });
    const answer = await response.json();
    if (asked === generation) {
      if (response.ok) show(answer);
      else showNothing("", answer.error);
    }
    // The view inside the network (inside.js) reads the drawing next, before the next one goes.
    if (response.ok && asked === generation && window.insideView) {
      await window.insideView.read(body, () => asked !== generation || waiting !== null);
    }
  } catch (error) {
    if (asked === generation) showNothing("", `cannot reach the server (${error.message})`);
  }
  reading = false;
  readNext();
}

// -- showing the answer ----------------------------------------------------------------

function show(answer) {
  const several = answer.models.length > 1;
  field("digit").textContent = answer.digit;
  field("confidence").textContent = `confidence ${percent(answer.confidence)}` +
    (several ? `, the vote of ${answer.models.length} models` : "");
  field("message").textContent = "";
  showImage(answer.image);
  showBars(answer.scores, answer.digit);
  showModels(answer);
}

function showNothing(prompt, message = "") {
  field("digit").textContent = "?";
  field("confidence").textContent = prompt;
  field("message").textContent = message;
  showImage(null);
  showBars(null, null);
  field("models").hidden = true;
}

function showImage(image) {
  // The network's input, ink 1 on black 0, as grey pixels.
  const pixels = seen.createImageData(28, 28);
  for (let i = 0; i < 28 * 28; i += 1) {
    const grey = image ? Math.round(255 * image[Math.floor(i / 28)][i % 28]) : 0;
    pixels.data.set([grey, grey, grey, 255], 4 * i);
  }
  seen.putImageData(pixels, 0, 0);
}

function buildBars(container) {
  const made = [];
  for (let digit = 0; digit < 10; digit += 1) {
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.innerHTML = `<div class="fill"></div><span class="label">${digit}</span>`;
    container.append(bar);
    made.push(bar);
  }
  return made;
}

function showBars(scores, best) {
  // Sigmoid and softmax outputs lie between 0 and 1; anything larger is scaled down.
  const top = scores ? Math.max(1, ...scores) : 1;
  bars.forEach((bar, digit) => {
    const score = scores ? scores[digit] : 0;
    bar.querySelector(".fill").style.height = `${100 * Math.max(0, score) / top}%`;
    bar.classList.toggle("best", digit === best);
    bar.title = scores ? `${digit}: output ${score.toFixed(3)}` : "";
  });
}

function showModels(answer) {
  const table = field("models");
  table.hidden = answer.models.length < 2;
  const rows = answer.models.map((model) => {
    const row = document.createElement("tr");
    for (const text of [model.name, model.digit, percent(model.confidence)]) {
      row.append(Object.assign(document.createElement("td"), { textContent: text }));
    }
    return row;
  });
  table.querySelector("tbody").replaceChildren(...rows);
  field("vote").textContent = answer.digit;
  const agree = answer.votes[answer.digit];
  field("vote-count").textContent = `${agree} of ${answer.models.length} models`;
}

function percent(share) {
  return `${Math.round(100 * share)}%`;
}

// -- the model line --------------------------------------------------------------------

async function describeModels() {
  try {
    const description = await (await fetch("api/model")).json();
    maxBody = description.max_body_bytes;
    const models = description.models;
    field("model").textContent = models.length === 1
      ? `Model: ${models[0].name}, ${models[0].description}`
      : `${models.length} models (${models.map((model) => model.name).join(", ")}); ` +
        "the answer is their vote";
    field("bars-caption").textContent = models.length === 1
      ? "The ten outputs" : "The ten outputs, averaged over the models";
  } catch (error) {
    field("model").textContent = `Cannot reach the server (${error.message})`;
  }
}

clearCanvas();
describeModels();
