"use strict";
/* The comparison page of `digits compare`: one chart per measured figure, one curve per
   run, named by the settings that differ (GET /api/runs). */

const $ = id => document.getElementById(id);

function panel(data, spec) {
  const section = document.createElement("section");
  section.appendChild(document.createElement("h2")).textContent = spec.title;
  const canvas = document.createElement("canvas");
  canvas.width = 520; canvas.height = 300;
  canvas.dataset.key = spec.key;
  section.appendChild(canvas);
  $("panels").appendChild(section);
  const series = data.runs.map((run, i) => ({name: run.label, colour: Chart.COLOURS[i % Chart.COLOURS.length],
                                             points: run.curves[spec.key] || []}));
  const lines = spec.key === "evaluation_accuracy"
    ? data.runs.map((run, i) => run.book && {y: run.book.published, label: `${run.name}: ${run.book.label}`,
                                             colour: Chart.COLOURS[i % Chart.COLOURS.length]}).filter(Boolean)
    : [];
  Chart.draw(canvas, {series, lines, xLabel: "epoch", yLabel: spec.accuracy ? "%" : "cost", integerX: true,
                      legendAt: spec.accuracy ? "bottom-right" : "top-right"});
  canvas.dataset.series = String(series.filter(s => s.points.length).length);
}

function settingsTable(data) {
  const body = $("settings").tBodies[0];
  const head = body.insertRow();
  head.appendChild(document.createElement("th")).textContent = "";
  for (const run of data.runs) head.appendChild(document.createElement("th")).textContent = run.name;
  const names = Object.keys(data.runs[0].settings);
  for (const name of names) {
    const row = body.insertRow();
    const th = row.appendChild(document.createElement("th"));
    th.textContent = name.replace(/_/g, " ") + (data.differing.includes(name) ? " (differs)" : "");
    for (const run of data.runs) {
      const value = run.settings[name];
      row.insertCell().textContent = value === null ? "" : Array.isArray(value) ? `[${value.join(", ")}]` : String(value);
    }
  }
}

async function load() {
  const answer = await fetch("/api/runs", {cache: "no-store"});
  const data = await answer.json();
  $("description").textContent = data.differing.length
    ? `${data.runs.length} runs, differing in: ${data.differing.join(", ").replace(/_/g, " ")}`
    : `${data.runs.length} runs with the same recorded settings`;
  for (const run of data.runs) $("runs").appendChild(document.createElement("li")).textContent = run.label;
  for (const spec of data.panels) panel(data, spec);
  settingsTable(data);
}

load();
