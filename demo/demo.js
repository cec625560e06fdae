// microlearn browser demo (docs/demo/): predictions by the generated C compiled to
// WebAssembly (scripts/build_demo.py builds models.json and one .wasm per model).
// Each row is written as float32 into the module's linear memory at __heap_base and the
// model's predict / predict_proba are called there: the same C as on a microcontroller.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const state = { models: [], model: null, wasm: null };

  function status(text, isError) {
    const el = $("demo-status");
    el.textContent = text;
    el.dataset.error = isError ? "1" : "0";
  }

  // --- the WebAssembly model ----------------------------------------------------------
  async function loadWasm(entry) {
    const buf = await (await fetch(entry.wasm)).arrayBuffer();
    const { instance } = await WebAssembly.instantiate(buf, {});
    const ex = instance.exports;
    if (ex.n_features() !== entry.n_features) {
      throw new Error(`${entry.wasm}: ${ex.n_features()} features, models.json says ${entry.n_features}`);
    }
    return { ex, base: ex.__heap_base.value, nF: ex.n_features(), nOut: ex.n_outputs() };
  }

  // One row (array of numbers) -> {index, label, proba (array of float32 values or null)}.
  function predictRow(row) {
    const w = state.wasm;
    const x = new Float32Array(w.ex.memory.buffer, w.base, w.nF);
    x.set(row);
    const k = w.ex.predict(w.base);
    if (k < 0) {
      throw new Error(`predict returned error ${k}`);
    }
    let proba = null;
    if (w.ex.predict_proba) {
      const outPtr = w.base + 4 * w.nF;
      const status = w.ex.predict_proba(w.base, outPtr);
      if (status !== 0) {
        throw new Error(`predict_proba returned error ${status}`);
      }
      proba = Array.from(new Float32Array(w.ex.memory.buffer, outPtr, w.nOut));
    }
    return { index: k, label: state.model.classes[k], proba };
  }

  // --- CSV ----------------------------------------------------------------------------
  // Comma-separated numbers, one row per line, an optional header line of names;
  // "nan" / "inf" / "-inf" accepted (any case). Returns rows or throws naming the cell.
  function parseCsv(text, nF) {
    const rows = [];
    const lines = text.split(/\r?\n/);
    lines.forEach((line, i) => {
      if (!line.trim()) {
        return;
      }
      const cells = line.split(",").map((c) => c.trim());
      const values = cells.map(parseCell);
      if (rows.length === 0 && values.every(Number.isNaN) && !cells.some(isNanWord)) {
        if (cells.length !== nF) {
          throw new Error(`line ${i + 1}: a header of ${cells.length} names, the model has ${nF} features`);
        }
        return; // header
      }
      if (cells.length !== nF) {
        throw new Error(`line ${i + 1}: ${cells.length} values, the model takes ${nF} features`);
      }
      cells.forEach((c, j) => {
        if (Number.isNaN(values[j]) && !isNanWord(c)) {
          throw new Error(`line ${i + 1}, column ${j + 1}: ${JSON.stringify(c)} is not a number`);
        }
      });
      rows.push(values);
    });
    if (!rows.length) {
      throw new Error("the file has no rows");
    }
    return rows;
  }

  function isNanWord(c) {
    return c.toLowerCase() === "nan";
  }

  function parseCell(c) {
    const s = c.toLowerCase();
    if (s === "inf" || s === "+inf" || s === "infinity") return Infinity;
    if (s === "-inf" || s === "-infinity") return -Infinity;
    if (s === "" || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(s)) return NaN;
    return Number(s);
  }

  function showResults(rows) {
    const table = $("demo-results");
    const body = table.querySelector("tbody");
    body.replaceChildren();
    delete table.dataset.done;
    rows.forEach((row, i) => {
      const r = predictRow(row);
      const tr = document.createElement("tr");
      tr.dataset.label = r.label;
      tr.dataset.proba = JSON.stringify(r.proba);
      const p = r.proba ? r.proba[r.index].toPrecision(3) : "-";
      for (const text of [String(i + 1), r.label, p]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    });
    table.dataset.done = String(rows.length);
    status(`${rows.length} row(s) predicted by ${state.model.wasm} (WebAssembly).`, false);
  }

  async function onCsv(ev) {
    const file = ev.target.files[0];
    if (!file) return;
    try {
      showResults(parseCsv(await file.text(), state.model.n_features));
    } catch (e) {
      $("demo-results").querySelector("tbody").replaceChildren();
      status(`${file.name}: ${e.message}`, true);
    }
  }

  // --- drawing pad: 8x8 features like scikit-learn's digits ------------------------------
  // The digits data set counts the "on" pixels of a 32x32 bitmap in 4x4 blocks (0..16).
  // The drawing is cropped to its ink, scaled (aspect kept) to 28 px on its longer side,
  // centred on a 32x32 bitmap, thresholded, and counted in blocks the same way.
  function padFeatures() {
    const pad = $("demo-pad");
    const ctx = pad.getContext("2d");
    const img = ctx.getImageData(0, 0, pad.width, pad.height).data;
    let x0 = pad.width, y0 = pad.height, x1 = -1, y1 = -1;
    for (let y = 0; y < pad.height; y++) {
      for (let x = 0; x < pad.width; x++) {
        if (img[4 * (y * pad.width + x) + 3] > 0) {
          x0 = Math.min(x0, x); x1 = Math.max(x1, x);
          y0 = Math.min(y0, y); y1 = Math.max(y1, y);
        }
      }
    }
    if (x1 < 0) return null;
    const w = x1 - x0 + 1, h = y1 - y0 + 1;
    const scale = 28 / Math.max(w, h);
    const small = document.createElement("canvas");
    small.width = small.height = 32;
    const sctx = small.getContext("2d");
    sctx.imageSmoothingEnabled = true;
    const dw = w * scale, dh = h * scale;
    sctx.drawImage(pad, x0, y0, w, h, (32 - dw) / 2, (32 - dh) / 2, dw, dh);
    const bits = sctx.getImageData(0, 0, 32, 32).data;
    const features = new Array(64).fill(0);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        if (bits[4 * (y * 32 + x) + 3] >= 128) {
          features[(y >> 2) * 8 + (x >> 2)] += 1;
        }
      }
    }
    return features;
  }

  function drawPreview(features) {
    const c = $("demo-preview");
    const ctx = c.getContext("2d");
    const cell = c.width / 8;
    ctx.clearRect(0, 0, c.width, c.height);
    features.forEach((v, i) => {
      const g = Math.round(255 - (v / 16) * 255);
      ctx.fillStyle = `rgb(${g},${g},${g})`;
      ctx.fillRect((i % 8) * cell, Math.floor(i / 8) * cell, cell, cell);
    });
  }

  function classifyDrawing() {
    const out = $("demo-draw-result");
    const features = padFeatures();
    if (!features) {
      out.textContent = "draw a digit";
      delete out.dataset.label;
      return;
    }
    drawPreview(features);
    const r = predictRow(features);
    out.dataset.label = r.label;
    out.dataset.features = JSON.stringify(features);
    out.dataset.proba = JSON.stringify(r.proba);
    out.textContent = r.proba
      ? `${r.label} (p = ${r.proba[r.index].toPrecision(3)})`
      : r.label;
  }

  function setupPad() {
    const pad = $("demo-pad");
    const ctx = pad.getContext("2d");
    let drawing = false;
    let last = null;
    const pos = (e) => {
      const r = pad.getBoundingClientRect();
      return [(e.clientX - r.left) * (pad.width / r.width), (e.clientY - r.top) * (pad.height / r.height)];
    };
    pad.addEventListener("pointerdown", (e) => {
      drawing = true;
      last = pos(e);
      pad.setPointerCapture(e.pointerId);
      ctx.beginPath();
      ctx.arc(last[0], last[1], 9, 0, 2 * Math.PI);
      ctx.fill();
    });
    pad.addEventListener("pointermove", (e) => {
      if (!drawing) return;
      const p = pos(e);
      ctx.lineWidth = 18;
      ctx.lineCap = "round";
      ctx.beginPath();
      ctx.moveTo(last[0], last[1]);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
      last = p;
    });
    const end = () => {
      if (drawing) {
        drawing = false;
        classifyDrawing();
      }
    };
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointercancel", end);
    $("demo-clear").addEventListener("click", () => {
      ctx.clearRect(0, 0, pad.width, pad.height);
      $("demo-preview").getContext("2d").clearRect(0, 0, 999, 999);
      classifyDrawing();
    });
  }

  // --- footprint table -------------------------------------------------------------------
  function showFootprint(entry) {
    const body = $("demo-footprint").querySelector("tbody");
    body.replaceChildren();
    const fmt = (v) => (v === null || v === undefined ? "-" : Math.round(v).toLocaleString("en-US"));
    for (const f of entry.footprint) {
      const tr = document.createElement("tr");
      tr.dataset.target = f.target;
      tr.dataset.flash = String(f.flash_bytes);
      const source = f.fails ? "does not fit / build" : f.estimated ? "estimated" : "measured";
      for (const text of [f.target, fmt(f.flash_bytes), fmt(f.ram_bytes), fmt(f.stack_bytes),
        fmt(f.instructions), source]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      }
      tr.title = f.note;
      body.appendChild(tr);
    }
    $("demo-describe").textContent = `${entry.describe}; ${entry.data_bytes.toLocaleString("en-US")} bytes of tables; WebAssembly module ${entry.wasm_bytes.toLocaleString("en-US")} bytes.`;
  }

  async function selectModel(id) {
    const entry = state.models.find((m) => m.id === id);
    document.body.dataset.demoReady = "0";
    state.model = entry;
    state.wasm = await loadWasm(entry);
    showFootprint(entry);
    $("demo-draw").hidden = !entry.drawable;
    $("demo-sample").href = entry.sample_csv;
    $("demo-results").querySelector("tbody").replaceChildren();
    $("demo-csv").value = "";
    if (entry.drawable) classifyDrawing();
    status(`${entry.title}: ${entry.n_features} features, ${entry.classes.length} classes.`, false);
    document.body.dataset.demoReady = entry.id;
  }

  async function main() {
    try {
      const manifest = await (await fetch("models.json")).json();
      state.models = manifest.models;
      const sel = $("demo-model");
      for (const m of state.models) {
        const opt = document.createElement("option");
        opt.value = m.id;
        opt.textContent = m.title;
        sel.appendChild(opt);
      }
      sel.addEventListener("change", () => selectModel(sel.value).catch((e) => status(e.message, true)));
      $("demo-csv").addEventListener("change", onCsv);
      setupPad();
      await selectModel(state.models[0].id);
    } catch (e) {
      status(`the demo could not start: ${e.message}`, true);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", main);
  } else {
    main();
  }
})();
