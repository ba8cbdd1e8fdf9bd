"use strict";
(function () {
  const D = JSON.parse(document.getElementById("kafkasim-data").textContent);
  // D.steps[k]   = [t_us, lane, partition, label, text, ops]
  // D.arrows[i]  = [from_lane, to_lane, sent_us, received_us, kind, step]
  // D.marks[i]   = [lane, t_us, kind, step, text]
  // D.cuts[i]    = [from_us, to_us, text, [[lanes], ...], step]
  // D.phases[i]  = [t_us, name]
  // ops: ["a",p,b,base,[[epoch,value]..]] ["t",p,b,to] ["h",p,b,hw] ["l",p,leader,epoch]
  //      ["i",p,isr,elr] ["r",p,b,role] ["c",p,consumer,upto] ["n",lane,status] ["w",cut]
  //      ["q",what,controller,n]: what is act (epoch n), ren, end (log end n) or hw (n)
  const steps = D.steps;
  const N = steps.length;
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c]));
  const ms = (us) => (us / 1000).toFixed(3) + " ms";

  // ---- replay: the same dumb ops the terminal view applies ----
  function initial() {
    return {
      parts: D.partitions.map((p) => ({
        leader: p.replicas[0], epoch: 0, isr: p.replicas.slice(), elr: [],
        replicas: Object.fromEntries(p.replicas.map((b) => [b, {log: [], hw: 0, role: "-"}])),
        consumers: {},
      })),
      nodes: {}, network: "", quorum: {active: null, logs: {}},
    };
  }
  function clone(s) {
    return {
      parts: s.parts.map((p) => ({
        leader: p.leader, epoch: p.epoch, isr: p.isr, elr: p.elr, consumers: Object.assign({}, p.consumers),
        replicas: Object.fromEntries(Object.entries(p.replicas).map(([b, r]) => [b, {log: r.log.slice(), hw: r.hw, role: r.role}])),
      })),
      nodes: Object.assign({}, s.nodes), network: s.network,
      quorum: {active: s.quorum.active, logs: Object.fromEntries(Object.entries(s.quorum.logs).map(([n, l]) => [n, Object.assign({}, l)]))},
    };
  }
  function applyQuorum(q, op) {
    const log = q.logs[op[2]] || (q.logs[op[2]] = {end: 0, hw: 0});
    if (op[1] === "act") q.active = [op[2], op[3]];
    else if (op[1] === "ren") { if (q.active && q.active[0] === op[2]) q.active = null; }
    else if (op[1] === "end") log.end = op[3];
    else if (op[1] === "hw") log.hw = op[3];
  }
  function quorumText(q) {
    const names = Object.keys(q.logs).sort();
    if (!names.length) return "";
    const active = q.active ? q.active[0] + " active in epoch " + q.active[1] : "no active controller";
    return "quorum: " + active + " · metadata log end/HW: " + names.map((n) => n + " " + q.logs[n].end + "/" + q.logs[n].hw).join(", ");
  }
  function apply(s, op) {
    const p = s.parts[op[1]];
    switch (op[0]) {
      case "n": s.nodes[op[1]] = op[2]; return;
      case "w": s.network = op[1]; return;
      case "q": applyQuorum(s.quorum, op); return;
    }
    if (!p) return;
    const r = p.replicas[op[2]];
    switch (op[0]) {
      case "a": if (r) { r.log.length = Math.min(r.log.length, op[3]); for (const rec of op[4]) r.log.push(rec); } break;
      case "t": if (r) r.log.length = Math.min(r.log.length, op[3]); break;
      case "h": if (r) r.hw = op[3]; break;
      case "r": if (r) r.role = op[3]; break;
      case "l": p.leader = op[2]; p.epoch = op[3]; break;
      case "i": p.isr = op[2]; p.elr = op[3]; break;
      case "c": p.consumers[op[2]] = op[3]; break;
    }
  }
  const CHECKPOINT = 256;
  const checkpoints = [initial()];
  let state = initial(), applied = 0; // state after steps[0..applied)
  function seek(count) {
    if (count < applied) {
      const c = Math.floor(count / CHECKPOINT);
      state = clone(checkpoints[Math.min(c, checkpoints.length - 1)]);
      applied = Math.min(c, checkpoints.length - 1) * CHECKPOINT;
    }
    while (applied < count) {
      for (const op of steps[applied][5]) apply(state, op);
      applied++;
      if (applied % CHECKPOINT === 0 && checkpoints.length === applied / CHECKPOINT) checkpoints.push(clone(state));
    }
  }

  // ---- current step and filters ----
  let cur = 0;
  let highlight = new Set();
  let only = "";
  const slider = $("slider");
  slider.max = String(Math.max(0, N - 1));
  D.partitions.forEach((p, i) => {
    const o = document.createElement("option"); o.value = String(i); o.textContent = p.name + " (and cluster-wide)"; $("only").appendChild(o);
  });
  function shown(k) { return only === "" || steps[k][2] === -1 || String(steps[k][2]) === only; }
  function move(k, dir) {
    k = Math.max(0, Math.min(N - 1, k));
    while (dir && !shown(k) && k > 0 && k < N - 1) k += dir;
    go(k);
  }

  function go(k, keepView) {
    cur = Math.max(0, Math.min(N - 1, k));
    seek(cur + 1);
    slider.value = String(cur);
    $("position").textContent = "step " + cur + " / " + (N - 1);
    const s = steps[cur];
    $("current").innerHTML = N === 0 ? "no steps" :
      "<span class=\"mono\">[" + ms(s[0]) + "]</span> <span class=\"label\">" + esc(s[3]) + "</span>" +
      "<span class=\"mono\">" + esc(s[4]) + "</span>" + (state.network ? "<div class=\"hint\">network: " + esc(state.network) + "</div>" : "") +
      (quorumText(state.quorum) ? "<div class=\"hint\" id=\"quorum\">" + esc(quorumText(state.quorum)) + "</div>" : "");
    renderLogs();
    if (!keepView && N > 0) {
      const t = s[0];
      if (t < view.t0 || t > view.t1) { const w = view.t1 - view.t0; view.t0 = t - w / 2; view.t1 = t + w / 2; clampView(); }
    }
    renderDiagram();
    markPlots();
    if (location.hash.indexOf("selftest") < 0 && location.hash.indexOf("violation") < 0) history.replaceState(null, "", "#step=" + cur);
  }

  // ---- logs panel ----
  const WINDOW = 32;
  function epochColor(e) { return "hsl(" + ((e * 67 + 200) % 360) + ",65%,78%)"; }
  // The log window: the tail of the log, unless an offset is asked for (the box above
  // the logs) or a selected violation names one in this partition.
  let selectedViolation = null;
  function focusOffset(pi) {
    const asked = $("from-offset").value;
    if (asked !== "") return Number(asked);
    const v = selectedViolation;
    if (v && v.offsets.length && v.partition === D.partitions[pi].name) return Math.min.apply(null, v.offsets);
    return null;
  }
  function renderLogs() {
    let html = "";
    state.parts.forEach((p, pi) => {
      const name = D.partitions[pi].name;
      let maxLeo = 0;
      for (const r of Object.values(p.replicas)) maxLeo = Math.max(maxLeo, r.log.length);
      const focus = focusOffset(pi);
      const from = focus == null ? Math.max(0, maxLeo - WINDOW) : Math.max(0, Math.min(focus - 4, maxLeo - WINDOW));
      html += "<div class=\"partition\" data-partition=\"" + esc(name) + "\"><h3>" + esc(name) +
        " · the controller says: leader " + (p.leader == null ? "none" : "broker-" + p.leader) + " in e" + p.epoch +
        " · ISR [" + p.isr.join(", ") + "]" + (p.elr.length ? " · ELR [" + p.elr.join(", ") + "]" : "") + "</h3>";
      html += "<table class=\"replicas\"><tr><th>replica</th><th>process</th><th>role</th><th>ISR</th><th>LEO</th><th>HW</th><th>log " +
        (from > 0 || maxLeo > from + WINDOW ? "(offsets " + from + "–" + (Math.min(maxLeo, from + WINDOW) - 1) + " of 0–" + (maxLeo - 1) + ")" : "") + "</th></tr>";
      for (const [b, r] of Object.entries(p.replicas)) {
        const lane = D.lanes.indexOf("broker-" + b);
        const status = state.nodes[lane] || "up";
        const inIsr = p.isr.indexOf(Number(b)) >= 0;
        let cells = "";
        const to = Math.min(r.log.length, from + WINDOW);
        if (from > r.log.length) cells += "<div class=\"more\">log ends at " + r.log.length + "</div>";
        for (let o = from; o < to; o++) {
          const rec = r.log[o];
          const cls = "cell" + (o >= r.hw ? " uncommitted" : "") + (o === r.hw ? " hwmark" : "") + (highlight.has(rec[1]) ? " hl" : "");
          cells += "<div class=\"" + cls + "\" style=\"background:" + epochColor(rec[0]) + "\" title=\"offset " + o + ", epoch " + rec[0] + ", " + esc(rec[1]) + "\">" + o + "<br>e" + rec[0] + "</div>";
        }
        if (r.hw >= r.log.length && r.log.length <= from + WINDOW) cells += "<div class=\"cell empty hwmark\"></div>";
        if (r.log.length > from + WINDOW) cells += "<div class=\"more\">… " + (r.log.length - from - WINDOW) + " more</div>";
        html += "<tr data-broker=\"" + b + "\"><td>broker-" + b + "</td><td class=\"" + status + "\">" + status + "</td><td>" + esc(r.role) +
          "</td><td class=\"" + (inIsr ? "isr-yes\">yes" : "isr-no\">no") + "</td><td class=\"num leo\">" + r.log.length +
          "</td><td class=\"num hw\">" + r.hw + "</td><td><div class=\"log\">" + cells + "</div></td></tr>";
      }
      const consumers = Object.entries(p.consumers).map(([c, o]) => "consumer-" + c + " read up to " + o);
      html += "</table><div class=\"hint\">consumers: " + (consumers.length ? esc(consumers.join(", ")) : "none has read yet") + "</div></div>";
    });
    $("logs").innerHTML = html;
  }

  // ---- space-time diagram ----
  const svg = $("diagram");
  const LANE_H = 30, TOP = 46, LEFT = 96, RIGHT = 12, ARROWS_MAX = 2500;
  const height = TOP + D.lanes.length * LANE_H + 10;
  svg.setAttribute("height", String(height));
  const end = Math.max(1, D.end_us);
  const view = {t0: 0, t1: end};
  function clampView() {
    const w = Math.max(200, Math.min(end * 1.02, view.t1 - view.t0));
    if (view.t0 < 0) view.t0 = 0;
    view.t1 = view.t0 + w;
    if (view.t1 > end * 1.01) { view.t1 = end * 1.01; view.t0 = Math.max(0, view.t1 - w); }
  }
  function width() { return svg.clientWidth || 1200; }
  function x(t) { return LEFT + (t - view.t0) / (view.t1 - view.t0) * (width() - LEFT - RIGHT); }
  function tAt(px) { return view.t0 + (px - LEFT) / (width() - LEFT - RIGHT) * (view.t1 - view.t0); }
  function y(lane) { return TOP + lane * LANE_H + LANE_H / 2; }
  const KEY_STEPS = {"leader elected": "#1f5fbf", "UNCLEAN leader election": "#c62828", "ISR shrink": "#e65100",
                     "ISR expand": "#1a7f37", "ISR change": "#777", "broker fenced": "#c62828"};
  const MARK = {"crash": ["✕", "#c62828"], "power loss": ["⚡", "#c62828"], "restart": ["▲", "#1a7f37"],
                "pause": ["❚❚", "#b26a00"], "resume": ["▶", "#b26a00"], "network": ["~", "#555"],
                "connection reset": ["↯", "#6a1b9a"], "connection refused": ["⊘", "#6a1b9a"]};
  function renderDiagram() {
    const W = width();
    const parts = [];
    parts.push("<defs>" + ["produce", "ack", "replicate", "consume", "metadata"].map((k) =>
      "<marker id=\"h-" + k + "\" viewBox=\"0 0 6 6\" refX=\"6\" refY=\"3\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0L6,3L0,6z\" class=\"a-" + k + "\" style=\"stroke:none;fill:currentColor\"/></marker>").join("") + "</defs>");
    // ticks
    const span = view.t1 - view.t0;
    const stepUs = Math.pow(10, Math.floor(Math.log10(span / 8)));
    const tick = span / stepUs > 40 ? stepUs * 5 : span / stepUs > 16 ? stepUs * 2 : stepUs;
    for (let t = Math.ceil(view.t0 / tick) * tick; t <= view.t1; t += tick) {
      parts.push("<line x1=\"" + x(t) + "\" x2=\"" + x(t) + "\" y1=\"" + (TOP - 6) + "\" y2=\"" + (height - 6) + "\" stroke=\"#eceef2\"/>" +
        "<text class=\"tick\" x=\"" + (x(t) + 2) + "\" y=\"" + (TOP - 10) + "\">" + (t / 1000).toLocaleString("en", {maximumFractionDigits: 3}) + " ms</text>");
    }
    // network cuts
    for (const c of D.cuts) {
      if (c[1] < view.t0 || c[0] > view.t1) continue;
      const x0 = Math.max(LEFT, x(c[0])), x1 = Math.min(W - RIGHT, x(c[1]));
      const small = c[3].slice().sort((a, b) => a.length - b.length)[0] || [];
      for (const lane of small) parts.push("<rect class=\"cut\" x=\"" + x0 + "\" width=\"" + Math.max(1, x1 - x0) + "\" y=\"" + (y(lane) - LANE_H / 2) + "\" height=\"" + LANE_H + "\"><title>" + esc(c[2]) + "</title></rect>");
      parts.push("<text class=\"cut-label\" x=\"" + (x0 + 3) + "\" y=\"12\">" + esc(c[2]) + "</text>");
    }
    // lanes
    D.lanes.forEach((name, i) => {
      parts.push("<line class=\"lane\" x1=\"" + LEFT + "\" x2=\"" + (W - RIGHT) + "\" y1=\"" + y(i) + "\" y2=\"" + y(i) + "\"/>" +
        "<text class=\"lane-label\" x=\"6\" y=\"" + (y(i) + 4) + "\">" + esc(name) + "</text>");
    });
    // phases
    D.phases.forEach((ph, i) => {
      if (ph[0] < view.t0 || ph[0] > view.t1) return;
      parts.push("<line class=\"phase\" x1=\"" + x(ph[0]) + "\" x2=\"" + x(ph[0]) + "\" y1=\"" + TOP + "\" y2=\"" + height + "\"/>" +
        "<text class=\"tick\" x=\"" + (x(ph[0]) + 3) + "\" y=\"" + (24 + (i % 2) * 9) + "\">phase " + esc(ph[1]) + "</text>");
    });
    // arrows
    const visible = [];
    for (const a of D.arrows) if (a[3] >= view.t0 && a[2] <= view.t1) visible.push(a);
    const stride = Math.max(1, Math.ceil(visible.length / ARROWS_MAX));
    let drawn = 0;
    visible.forEach((a, i) => {
      const isCur = a[5] === cur;
      if (i % stride !== 0 && !isCur) return;
      drawn++;
      parts.push("<line class=\"arrow a-" + a[4] + (isCur ? " current" : "") + "\" data-step=\"" + a[5] + "\" x1=\"" + x(a[2]) + "\" y1=\"" + y(a[0]) +
        "\" x2=\"" + x(a[3]) + "\" y2=\"" + y(a[1]) + "\" marker-end=\"url(#h-" + a[4] + ")\"/>");
    });
    // key protocol steps: controller decisions (circles) and truncations (diamonds)
    const lo = nearestStep(view.t0), hi = nearestStep(view.t1);
    for (let k = lo; k <= hi && k < N; k++) {
      const s = steps[k], label = s[3];
      if (s[1] < 0) continue;
      const cx = x(s[0]), cy = y(s[1]);
      if (KEY_STEPS[label]) parts.push("<circle class=\"mark\" data-step=\"" + k + "\" cx=\"" + cx + "\" cy=\"" + cy + "\" r=\"4\" fill=\"" + KEY_STEPS[label] + "\"><title>" + esc(label + ": " + s[4]) + "</title></circle>");
      if (label === "truncation") parts.push("<path class=\"mark\" data-step=\"" + k + "\" d=\"M" + cx + "," + (cy - 6) + "l5,6l-5,6l-5,-6z\" fill=\"#8e24aa\"><title>" + esc(s[4]) + "</title></path>");
    }
    // fault marks
    for (const m of D.marks) {
      if (m[1] < view.t0 || m[1] > view.t1) continue;
      const [glyph, color] = MARK[m[2]] || ["?", "#000"];
      parts.push("<text class=\"mark\" data-step=\"" + m[3] + "\" x=\"" + (x(m[1]) - 5) + "\" y=\"" + (y(m[0]) + 5) + "\" fill=\"" + color + "\">" + glyph + "<title>" + esc(m[4]) + "</title></text>");
    }
    // the current step
    if (N > 0) {
      const t = steps[cur][0];
      parts.push("<line class=\"now\" x1=\"" + x(t) + "\" x2=\"" + x(t) + "\" y1=\"" + (TOP - 4) + "\" y2=\"" + height + "\"/>");
      if (steps[cur][1] >= 0) parts.push("<circle cx=\"" + x(t) + "\" cy=\"" + y(steps[cur][1]) + "\" r=\"5\" fill=\"#ffb300\" stroke=\"#1d2330\"/>");
    }
    svg.innerHTML = parts.join("");
    $("diagram-note").textContent = "showing " + ms(view.t0) + " – " + ms(view.t1) + " · " + visible.length + " messages in view" +
      (stride > 1 ? " (1 in " + stride + " drawn; zoom in to see them all)" : "");
  }
  function zoom(factor, center) {
    const c = center === undefined ? (view.t0 + view.t1) / 2 : center;
    view.t0 = c - (c - view.t0) * factor; view.t1 = c + (view.t1 - c) * factor; clampView(); renderDiagram();
  }
  svg.addEventListener("wheel", (e) => { e.preventDefault(); zoom(e.deltaY > 0 ? 1.25 : 0.8, tAt(e.offsetX)); }, {passive: false});
  let drag = null;
  svg.addEventListener("mousedown", (e) => { drag = {x: e.clientX, t0: view.t0, t1: view.t1, moved: false}; });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    const dt = (e.clientX - drag.x) / (width() - LEFT - RIGHT) * (drag.t1 - drag.t0);
    if (Math.abs(e.clientX - drag.x) > 3) drag.moved = true;
    view.t0 = drag.t0 - dt; view.t1 = drag.t1 - dt; clampView(); renderDiagram();
  });
  window.addEventListener("mouseup", (e) => {
    if (drag && !drag.moved) {
      const target = e.target.getAttribute && e.target.getAttribute("data-step");
      if (target !== null && target !== undefined) go(Number(target), true);
      else if (e.target === svg || svg.contains(e.target)) go(nearestStep(tAt(e.offsetX)), true);
    }
    drag = null;
  });
  function nearestStep(t) {
    let lo = 0, hi = N - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (steps[mid][0] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }
  $("zoom-in").onclick = () => zoom(0.5);
  $("zoom-out").onclick = () => zoom(2);
  $("zoom-fit").onclick = () => { view.t0 = 0; view.t1 = end; renderDiagram(); };
  $("zoom-step").onclick = () => { const t = steps[cur][0]; view.t0 = t - 25000; view.t1 = t + 25000; clampView(); renderDiagram(); };
  window.addEventListener("resize", renderDiagram);

  // ---- availability plots (static SVG drawn by src/html/plots.rs) ----
  const plots = Array.from(document.querySelectorAll("svg.plot"));
  const plotAttr = (p, name) => Number(p.getAttribute("data-" + name));
  function markPlots() {
    if (N === 0) return;
    for (const p of plots) {
      const x0 = plotAttr(p, "x0"), x1 = plotAttr(p, "x1");
      const x = x0 + steps[cur][0] / Math.max(1, plotAttr(p, "t1")) * (x1 - x0);
      const line = p.querySelector("line.plot-now");
      if (line) { line.setAttribute("x1", String(x)); line.setAttribute("x2", String(x)); }
    }
  }
  // A click on a plot goes to the step nearest that moment.
  for (const p of plots) {
    p.addEventListener("click", (e) => {
      const box = p.getBoundingClientRect();
      const x = (e.clientX - box.left) * plotAttr(p, "width") / box.width;
      const x0 = plotAttr(p, "x0"), x1 = plotAttr(p, "x1");
      if (N > 0 && x >= x0 && x <= x1) go(nearestStep((x - x0) / (x1 - x0) * plotAttr(p, "t1")));
    });
  }

  // ---- controls ----
  $("first").onclick = () => go(0);
  $("prev").onclick = () => move(cur - 1, -1);
  $("next").onclick = () => move(cur + 1, 1);
  $("last").onclick = () => go(N - 1);
  slider.addEventListener("input", () => go(Number(slider.value)));
  $("only").addEventListener("change", (e) => { only = e.target.value; });
  $("from-offset").addEventListener("input", renderLogs);
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "SELECT" || e.target.tagName === "INPUT" && e.target.type !== "range") return;
    if (e.key === "ArrowRight") { move(cur + 1, 1); e.preventDefault(); }
    if (e.key === "ArrowLeft") { move(cur - 1, -1); e.preventDefault(); }
  });
  document.querySelectorAll(".violation").forEach((el) => {
    el.addEventListener("click", (e) => {
      const v = D.violations[Number(el.getAttribute("data-index"))];
      document.querySelectorAll(".violation.selected").forEach((s) => s.classList.remove("selected"));
      el.classList.add("selected");
      highlight = new Set(v.values);
      selectedViolation = v;
      const link = e.target.closest("a.step-link");
      go(link ? Number(link.getAttribute("data-step")) : (v.step == null ? cur : v.step));
      e.preventDefault();
    });
  });

  // ---- start ----
  // #step=N opens at step N; #violation=K selects violation K (and its step, unless
  // #step is given too).
  const fromHash = /step=(\d+)/.exec(location.hash);
  const violationHash = /violation=(\d+)/.exec(location.hash);
  if (N > 0) go(fromHash ? Number(fromHash[1]) : 0);
  const picked = violationHash && document.querySelectorAll(".violation")[Number(violationHash[1])];
  if (picked) {
    picked.classList.add("selected");
    highlight = new Set(D.violations[Number(violationHash[1])].values);
    selectedViolation = D.violations[Number(violationHash[1])];
    const v = D.violations[Number(violationHash[1])];
    go(fromHash ? Number(fromHash[1]) : (v.step == null ? cur : v.step));
  }
  const initMs = performance.now();
  document.body.setAttribute("data-init-ms", initMs.toFixed(1));

  // The plots exist, hold what the server says it drew, and a click in the middle of
  // the latency plot goes to a step near the middle of the run and moves the markers.
  function checkPlots(problems) {
    const lat = $("latency-plot"), thr = $("throughput-plot");
    if (!lat || !thr) { problems.push("the availability plots are missing"); return ""; }
    const count = (p, selector) => p.querySelectorAll(selector).length;
    // The dots are one path per outcome, a segment ("M x y") per send.
    const segments = (selector) => Array.from(lat.querySelectorAll(selector))
      .reduce((n, p) => n + ((p.getAttribute("d").match(/M/g) || []).length), 0);
    const dots = segments("path.dots"), bars = count(thr, "rect.bar");
    const faults = count(lat, "rect.fault-bar"), outages = count(lat, "rect.outage");
    if (dots === 0 || dots !== plotAttr(lat, "dots")) problems.push("latency plot: " + dots + " dots of " + plotAttr(lat, "dots"));
    if (bars === 0 || bars !== plotAttr(thr, "bars")) problems.push("throughput plot: " + bars + " bars of " + plotAttr(thr, "bars"));
    if (faults !== plotAttr(lat, "faults") || count(thr, "rect.fault-bar") !== faults) problems.push("the plots do not band every fault");
    if (outages !== plotAttr(lat, "outages") || count(thr, "rect.outage") !== outages) problems.push("the plots do not shade every outage");
    const box = lat.getBoundingClientRect();
    const middle = (plotAttr(lat, "x0") + plotAttr(lat, "x1")) / 2;
    lat.dispatchEvent(new MouseEvent("click", {bubbles: true, clientX: box.left + middle * box.width / plotAttr(lat, "width"), clientY: box.top + 100}));
    const clicked = N > 0 ? steps[cur][0] / Math.max(1, plotAttr(lat, "t1")) : 0.5;
    if (N > 0 && Math.abs(clicked - 0.5) > 0.05) problems.push("a click in the latency plot's middle went to " + (clicked * 100).toFixed(1) + "% of the run");
    const now = Number(thr.querySelector("line.plot-now").getAttribute("x1"));
    if (N > 0 && Math.abs(now - middle) > 0.05 * (plotAttr(thr, "x1") - plotAttr(thr, "x0"))) problems.push("the plots' step marker did not follow the click");
    return " dots=" + dots + " dots_not_ok=" + segments("path.dots:not(.ok)") + " bars=" + bars + " plot_faults=" + faults + " plot_outages=" + outages + " plot_click=" + clicked.toFixed(3);
  }

  // ---- self-test (browser test): open with #selftest ----
  if (location.hash.indexOf("selftest") >= 0) {
    const problems = [];
    if (!svg.querySelector("line.lane")) problems.push("the diagram has no lanes");
    if (!svg.querySelector("line.arrow")) problems.push("the diagram has no message arrows");
    if (!$("verdict") || !$("reproduce")) problems.push("no verdict panel");
    const hwText = () => Array.from(document.querySelectorAll("td.hw")).map((td) => td.textContent).join(",");
    go(0);
    const before = hwText();
    let changedAt = -1;
    for (let k = 1; k < N && changedAt < 0; k++) { $("next").click(); if (hwText() !== before) changedAt = cur; }
    if (changedAt < 0) problems.push("stepping never changed the displayed HW");
    else { $("prev").click(); if (hwText() !== before) problems.push("stepping back did not restore the HW"); }
    const plotFacts = checkPlots(problems);
    const violations = document.querySelectorAll("#violations .violation").length;
    if (violations !== D.violations.length) problems.push("the violation panel does not list every violation it has");
    // Leave the page at an instructive step for the screenshot: the first violation, or the middle.
    const target = D.violations.length && D.violations[0].step != null ? D.violations[0].step : Math.floor(N / 2);
    if (D.violations.length) document.querySelector(".violation").click(); else go(target);
    const errors = window.kafkasimErrors;
    const pre = document.createElement("pre");
    pre.id = "selftest-result";
    pre.textContent = (problems.length || errors.length ? "SELFTEST FAIL " : "SELFTEST PASS ") +
      "init_ms=" + initMs.toFixed(1) + " steps=" + N + " arrows=" + D.arrows.length + " hw_changed_at=" + changedAt +
      " violations_shown=" + violations + plotFacts + " errors=" + errors.length +
      (problems.length ? " problems: " + problems.join("; ") : "") + (errors.length ? " js: " + errors.join(" | ") : "");
    document.body.appendChild(pre);
  }
})();
