/*
 * timeline.js: the trace views. Timeline: threads as rows (their waits,
 * system calls and sleeps on a thin lane, their regions below it, nested),
 * tasks on rows of their own above, the heap counter, CPU samples as ticks
 * and logs as marks. Drawn on a canvas, because a trace may hold a million
 * spans; every span wide enough to carry a label gets a <div> over the
 * canvas with its name, so that region and task names are in the DOM. The
 * spans come as one binary block of columns (web_trace.h) mapped onto
 * typed arrays: no parsing. Each lane is sorted and free of overlaps, so a
 * frame finds the visible spans by binary search and, where many fall in
 * one pixel, jumps to the next pixel: the work per frame depends on the
 * width of the canvas, not on the size of the trace.
 *
 * Ctrl+wheel (or W/S) zooms at the mouse, Shift+wheel (or A/D) and dragging
 * the time axis pan, dragging on the rows selects a range, a click selects
 * a span; the selection is summarised below. Trace summary: the tables of
 * `cprof trace summary` for the whole trace.
 */
'use strict';

(function () {
  const LABEL_W = 210;
  const STATE_H = 12, REGION_H = 17, TASK_H = 17, HEAP_H = 34, THREAD_PAD = 7;
  const MAX_LABELS = 1500;
  const K_WAIT = 0, K_SYSCALL = 1, K_REGION = 2, K_TASK = 3;
  const S_SLEEP = 7, S_SYSCALL = 8;

  let T = null; // the loaded trace
  let V = null; // the timeline on screen

  /* ---- loading ----------------------------------------------------------------- */

  async function load() {
    if (T) return T;
    if (!CP.tracePromise) {
      CP.tracePromise = (async () => {
        CP.status('loading the trace…');
        const [meta, buf] = await Promise.all([
          CP.fetchJSON('api/trace'),
          fetch('api/trace.bin').then((r) => { if (!r.ok) throw new Error('api/trace.bin: ' + r.status); return r.arrayBuffer(); }),
        ]);
        return decode(meta, buf);
      })();
    }
    T = await CP.tracePromise;
    return T;
  }

  function decode(meta, buf) {
    const h = new Uint32Array(buf, 0, 4);
    if (String.fromCharCode(...new Uint8Array(buf, 0, 4)) !== 'CPWT' || h[1] !== 1) throw new Error('api/trace.bin: not a timeline block');
    const n = h[2], m = h[3];
    let o = 16;
    const col = (Type, count, size) => { const a = new Type(buf, o, count); o += count * size; return a; };
    const t = {meta, n, m};
    t.b = col(Float64Array, n, 8);
    t.e = col(Float64Array, n, 8);
    t.what = col(Uint32Array, n, 4);
    t.aux = col(Uint32Array, n, 4);
    t.id = col(Uint32Array, n, 4);
    t.kind = col(Uint8Array, n, 1);
    o = (o + 7) & ~7;
    t.pns = col(Float64Array, m, 8);
    t.pval = col(Float64Array, m, 8);
    t.pwhat = col(Uint32Array, m, 4);
    t.paux = col(Uint32Array, m, 4);
    t.pkind = col(Uint8Array, m, 1);
    t.names = meta.names;
    t.lanes = new Map();
    for (const [th, g, l, off, cnt] of meta.lanes) t.lanes.set(`${th}:${g}:${l}`, {off, n: cnt});
    t.points = new Map();
    for (const [th, k, off, cnt] of meta.pointLanes) t.points.set(`${th}:${k}`, {off, n: cnt});
    t.laneCount = (th, g) => { let k = 0; while (t.lanes.has(`${th}:${g}:${k}`)) k++; return k; };
    /* Task number → span index, for the regions' "in task" and the tasks' parents. */
    t.taskSpan = new Map();
    for (let i = 0; i < n; i++) if ((t.kind[i] & 0x3f) === K_TASK) t.taskSpan.set(t.id[i], i);
    return t;
  }

  /* ---- names, colours ------------------------------------------------------------- */

  const kindOf = (i) => T.kind[i] & 0x3f;
  const SYNC_COLOURS = ['#3cb371', '#d9534f', '#e0803a', '#c9a227', '#b05fc4', '#8f6d4e', '#d46a9f'];
  function spanColour(i) {
    const k = kindOf(i);
    if (k === K_WAIT) {
      const s = T.id[i];
      if (s === S_SLEEP) return '#9aa7b8';
      if (s === S_SYSCALL) return '#7e6bc4';
      return SYNC_COLOURS[s] || '#d9534f';
    }
    if (k === K_SYSCALL) return T.aux[i] ? '#9aa7b8' : '#7e6bc4';
    const h = CP.hash(T.names[T.what[i]]);
    if (k === K_TASK) return `hsl(${200 + (h % 60)},55%,${62 + ((h >>> 8) % 14)}%)`;
    return `hsl(${(h % 50) + 15},${70 + ((h >>> 8) % 25)}%,${60 + ((h >>> 16) % 14)}%)`;
  }
  const kindName = (i) => ['wait', 'system call', 'region', 'task'][kindOf(i)];
  function threadLabel(th) {
    const x = T.meta.threads[th];
    const name = x.name || (x.unregistered ? '-' : '?');
    return `${name} (${x.tid})`;
  }
  function stackText(ref, max) {
    if (!ref) return '';
    const frames = T.meta.stacks[ref - 1] || [];
    const names = frames.slice(0, max).map((f) => T.names[f]);
    return names.join(' ← ') + (frames.length > max ? ' ← …' : '');
  }

  /* ---- rows --------------------------------------------------------------------- */

  function buildRows() {
    const rows = [];
    let y = 4;
    const nTask = T.laneCount(-1, 2);
    if (nTask) {
      rows.push({type: 'head', label: 'Tasks', y, h: 0, thread: -1});
      for (let l = 0; l < nTask; l++) { rows.push({type: 'lane', thread: -1, group: 2, lane: l, y, h: TASK_H}); y += TASK_H; }
      y += THREAD_PAD;
    }
    if (T.points.has('-1:2')) {
      rows.push({type: 'heap', label: 'Heap in use', y, h: HEAP_H, thread: -1});
      y += HEAP_H + THREAD_PAD;
    }
    T.meta.threads.forEach((x, th) => {
      rows.push({type: 'head', label: threadLabel(th), y, h: 0, thread: th});
      const ns = Math.max(1, T.laneCount(th, 0));
      for (let l = 0; l < ns; l++) { rows.push({type: 'lane', thread: th, group: 0, lane: l, y, h: STATE_H, state: true}); y += STATE_H; }
      const nr = T.laneCount(th, 1);
      for (let l = 0; l < nr; l++) { rows.push({type: 'lane', thread: th, group: 1, lane: l, y, h: REGION_H}); y += REGION_H; }
      y += THREAD_PAD;
    });
    return {rows, height: y + 4};
  }

  /* First index in [off, off+n) whose end is >= t (ends grow within a lane). */
  function firstEnding(off, n, t) {
    let lo = off, hi = off + n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (T.e[mid] < t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
  function firstBeginning(off, n, t) {
    let lo = off, hi = off + n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (T.b[mid] < t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
  function firstPoint(off, n, t) {
    let lo = off, hi = off + n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (T.pns[mid] < t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /* ---- drawing ------------------------------------------------------------------- */

  const xOf = (t) => (t - V.v0) * V.k;
  const tOf = (x) => V.v0 + x / V.k;

  function schedule() {
    if (V && !V.pending) {
      V.pending = true;
      requestAnimationFrame(() => { if (V) { V.pending = false; draw(); } });
    }
  }

  function draw() {
    const {canvas, scroll} = V;
    const W = scroll.clientWidth - LABEL_W - 2, H = scroll.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
      canvas.width = Math.round(W * dpr);
      canvas.height = Math.round(H * dpr);
      canvas.style.width = W + 'px';
      canvas.style.height = H + 'px';
      canvas.style.marginBottom = -H + 'px';
    }
    V.W = W;
    V.k = W / (V.v1 - V.v0);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const top = scroll.scrollTop, bottom = top + H;
    const labels = [];
    ctx.font = '11px sans-serif';
    for (const r of V.rows) {
      if (r.y + r.h < top || r.y > bottom) continue;
      const y = r.y - top;
      if (r.type === 'lane') drawLane(ctx, r, y, labels);
      else if (r.type === 'heap') drawHeap(ctx, r, y);
    }
    /* The selection. */
    if (V.sel) {
      const x0 = xOf(V.sel[0]), x1 = xOf(V.sel[1]);
      ctx.fillStyle = 'rgba(60,120,220,0.13)';
      ctx.fillRect(x0, 0, Math.max(1, x1 - x0), H);
      ctx.fillStyle = 'rgba(60,120,220,0.8)';
      ctx.fillRect(x0, 0, 1, H);
      ctx.fillRect(x1, 0, 1, H);
    }
    drawAxis();
    drawLabels(labels, top);
  }

  function drawLane(ctx, r, y, labels) {
    const key = `${r.thread}:${r.group}:${r.lane}`;
    const lane = T.lanes.get(key);
    const W = V.W;
    if (r.state && r.lane === 0 && r.thread >= 0) {
      /* The thread's lifetime: running unless a wait says otherwise. */
      const th = T.meta.threads[r.thread];
      const x0 = Math.max(0, xOf(th.begin)), x1 = Math.min(W, xOf(th.end));
      if (x1 > x0) {
        ctx.fillStyle = '#bfe5c6';
        ctx.fillRect(x0, y + 1, Math.max(1, x1 - x0), r.h - 2);
      }
    }
    if (lane) {
      const end = lane.off + lane.n;
      let i = firstEnding(lane.off, lane.n, V.v0);
      let lastPx = -1;
      while (i < end) {
        const b = T.b[i];
        if (b > V.v1) break;
        const x0 = xOf(b), x1 = xOf(T.e[i]);
        if (x1 - x0 < 1 && x1 < lastPx + 1) {
          /* Many spans in one pixel: draw one, jump to the next pixel. */
          i = Math.max(i + 1, firstBeginning(i, end - i, tOf(lastPx + 1)));
          continue;
        }
        const xa = Math.max(x0, -1), xb = Math.min(x1, W + 1);
        const w = Math.max(1, xb - xa);
        ctx.fillStyle = spanColour(i);
        ctx.fillRect(xa, y + 1, w, r.h - 2);
        if (V.hot === i) {
          ctx.strokeStyle = '#000';
          ctx.lineWidth = 1.5;
          ctx.strokeRect(xa + 0.5, y + 1.5, Math.max(1, w - 1), r.h - 3);
        }
        lastPx = xa + w;
        const k = kindOf(i);
        if (w >= 28 && (k === K_REGION || k === K_TASK || w >= 60) && labels.length < MAX_LABELS) labels.push([i, xa, w, r.y, r.h]);
        i++;
      }
    }
    if (r.state && r.lane === 0 && r.thread >= 0) {
      drawPoints(ctx, `${r.thread}:1`, y + r.h - 4, 3, '#222');
      drawPoints(ctx, `${r.thread}:0`, y, 4, '#1f4fb0');
    }
  }

  function drawPoints(ctx, key, y, h, colour) {
    const pl = T.points.get(key);
    if (!pl) return;
    ctx.fillStyle = colour;
    const end = pl.off + pl.n;
    let lastPx = -2;
    for (let i = firstPoint(pl.off, pl.n, V.v0); i < end; i++) {
      const t = T.pns[i];
      if (t > V.v1) break;
      const x = Math.floor(xOf(t));
      if (x === lastPx) {
        i = Math.max(i, firstPoint(i, end - i, tOf(x + 1)) - 1);
        continue;
      }
      lastPx = x;
      ctx.fillRect(x, y, 1.5, h);
    }
  }

  function drawHeap(ctx, r, y) {
    const pl = T.points.get('-1:2');
    let max = 1;
    for (let i = pl.off; i < pl.off + pl.n; i++) max = Math.max(max, T.pval[i]);
    ctx.fillStyle = 'rgba(90,140,200,0.45)';
    ctx.beginPath();
    ctx.moveTo(0, y + r.h);
    let prev = 0;
    const start = Math.max(pl.off, firstPoint(pl.off, pl.n, V.v0) - 1);
    for (let i = start; i < pl.off + pl.n; i++) {
      const x = Math.max(0, xOf(T.pns[i]));
      const h = (T.pval[i] / max) * (r.h - 4);
      ctx.lineTo(x, y + r.h - prev);
      ctx.lineTo(x, y + r.h - h);
      prev = h;
      if (T.pns[i] > V.v1) break;
    }
    ctx.lineTo(V.W, y + r.h - prev);
    ctx.lineTo(V.W, y + r.h);
    ctx.fill();
  }

  /* Names over the spans wide enough: <div>s in the DOM, above the canvas. */
  function drawLabels(labels, top) {
    const html = [];
    for (const [i, x, w, y, h] of labels) {
      const name = T.names[T.what[i]];
      html.push(`<div class="tl-span k${kindOf(i)}${V.hot === i ? ' hot' : ''}${CP.matches(name) ? ' match' : ''}" data-s="${i}" style="left:${(x + LABEL_W).toFixed(1)}px;top:${y}px;width:${w.toFixed(1)}px;height:${h}px">${CP.esc(name)}</div>`);
    }
    V.overlay.innerHTML = html.join('');
    void top;
  }

  function niceStep(span, px) {
    const raw = span / Math.max(1, px / 90);
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  function drawAxis() {
    const step = niceStep(V.v1 - V.v0, V.W);
    const html = [];
    for (let t = Math.ceil(V.v0 / step) * step; t <= V.v1; t += step) {
      html.push(`<div class="tick" style="left:${(LABEL_W + xOf(t)).toFixed(1)}px">${CP.dur(t)}</div>`);
    }
    if (V.sel) {
      const x0 = LABEL_W + xOf(V.sel[0]), x1 = LABEL_W + xOf(V.sel[1]);
      html.push(`<div class="selband" style="left:${x0.toFixed(1)}px;width:${Math.max(1, x1 - x0).toFixed(1)}px"></div>`);
    }
    V.axis.innerHTML = html.join('');
    V.range.textContent = `${CP.dur(V.v0)} – ${CP.dur(V.v1)} (${CP.dur(V.v1 - V.v0)} shown)`;
  }

  /* ---- finding what is under the mouse ----------------------------------------------- */

  function rowAt(yIn) {
    for (const r of V.rows) if (r.h && yIn >= r.y && yIn < r.y + r.h) return r;
    return null;
  }

  function spanAt(r, t, slackPx) {
    if (!r || r.type !== 'lane') return -1;
    const lane = T.lanes.get(`${r.thread}:${r.group}:${r.lane}`);
    if (!lane) return -1;
    const slack = slackPx / V.k;
    const end = lane.off + lane.n;
    let best = -1, bestD = Infinity;
    for (let i = firstEnding(lane.off, lane.n, t - slack); i < end && T.b[i] <= t + slack; i++) {
      const d = t < T.b[i] ? T.b[i] - t : t > T.e[i] ? t - T.e[i] : 0;
      if (d < bestD) { best = i; bestD = d; }
      if (!d) break;
    }
    return best;
  }

  function logAt(r, t) {
    if (!r || !r.state || r.thread < 0) return -1;
    const pl = T.points.get(`${r.thread}:0`);
    if (!pl) return -1;
    const slack = 4 / V.k;
    const i = firstPoint(pl.off, pl.n, t - slack);
    return i < pl.off + pl.n && T.pns[i] <= t + slack ? i : -1;
  }

  function spanDetails(i) {
    const k = kindOf(i);
    const name = T.names[T.what[i]];
    let html = `<b>${CP.esc(name)}</b> <span class="hint">${kindName(i)}</span><br>${CP.dur(T.e[i] - T.b[i])} from ${CP.dur(T.b[i])}`;
    if (T.kind[i] & 0x80) html += ' (no end in the trace)';
    if (k === K_REGION && T.aux[i]) {
      const ts = T.taskSpan.get(T.aux[i]);
      if (ts !== undefined) html += `<br>in task ${CP.esc(T.names[T.what[ts]])} #${T.aux[i]}`;
    }
    if (k === K_TASK) {
      html += `<br>task #${T.id[i]}`;
      const ps = T.aux[i] ? T.taskSpan.get(T.aux[i]) : undefined;
      if (ps !== undefined) html += `, child of ${CP.esc(T.names[T.what[ps]])} #${T.aux[i]}`;
    }
    if (k === K_WAIT && T.aux[i]) html += `<br><span class="stack">${CP.esc(stackText(T.aux[i], 8))}</span>`;
    return html;
  }

  /* ---- interaction -------------------------------------------------------------------- */

  /* Shows [v0, v1]: the scale changes at once (a click before the next
   * frame maps to the new one), the drawing at the next frame. */
  function show(v0, v1) {
    V.v0 = v0;
    V.v1 = v1;
    V.k = V.W / (V.v1 - V.v0);
    schedule();
  }

  function zoom(factor, atX) {
    const t = tOf(atX === undefined ? V.W / 2 : atX);
    const span = Math.max(1000, Math.min(T.meta.duration * 4 || 1e9, (V.v1 - V.v0) * factor));
    const f = (t - V.v0) / (V.v1 - V.v0);
    show(t - f * span, t - f * span + span);
  }

  function pan(px) {
    const dt = px / V.k;
    show(V.v0 + dt, V.v1 + dt);
  }

  function fitAll() {
    const d = T.meta.duration || 1;
    show(-d * 0.01, d * 1.01);
  }

  function setSelection(t0, t1, span) {
    if (t1 < t0) [t0, t1] = [t1, t0];
    V.sel = [t0, t1];
    V.hot = span === undefined ? -1 : span;
    const p = new URLSearchParams(location.hash.slice(1));
    p.set('t0', Math.round(t0));
    p.set('t1', Math.round(t1));
    history.replaceState(null, '', '#' + p.toString());
    schedule();
    summarizeSelection();
  }

  function attach() {
    const {canvas, scroll, axis} = V;
    const local = (e) => {
      const r = canvas.getBoundingClientRect();
      return {x: e.clientX - r.left, y: e.clientY - r.top + scroll.scrollTop};
    };
    canvas.addEventListener('wheel', (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) {
        e.preventDefault();
        zoom(Math.exp(e.deltaY * 0.002), local(e).x);
      } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        e.preventDefault();
        pan(e.deltaX || e.deltaY);
      }
    }, {passive: false});
    scroll.addEventListener('scroll', schedule);
    let drag = null;
    canvas.addEventListener('mousedown', (e) => {
      if (e.button !== 0) return;
      const p = local(e);
      drag = {x0: p.x, t0: tOf(p.x), moved: false, row: rowAt(p.y), y: p.y};
      e.preventDefault();
    });
    axis.addEventListener('mousedown', (e) => {
      drag = {pan: true, x: e.clientX, v0: V.v0, v1: V.v1};
      e.preventDefault();
    });
    V.onMove = (e) => {
      if (!V || !drag) return;
      if (drag.pan) {
        const dt = (e.clientX - drag.x) / V.k;
        show(drag.v0 - dt, drag.v1 - dt);
        return;
      }
      const p = local(e);
      if (Math.abs(p.x - drag.x0) > 3) drag.moved = true;
      if (drag.moved) {
        V.sel = [Math.min(drag.t0, tOf(p.x)), Math.max(drag.t0, tOf(p.x))];
        schedule();
      }
    };
    V.onUp = (e) => {
      if (!V || !drag) return;
      const d = drag;
      drag = null;
      if (d.pan) return;
      const p = local(e);
      if (d.moved) {
        setSelection(d.t0, tOf(p.x));
        return;
      }
      /* A click: the span under it, or nothing. */
      const i = spanAt(d.row, d.t0, 3);
      if (i >= 0) setSelection(T.b[i], T.e[i], i);
      else { V.sel = null; V.hot = -1; schedule(); summarizeSelection(); }
    };
    window.addEventListener('mousemove', V.onMove);
    window.addEventListener('mouseup', V.onUp);
    const hover = (e) => {
      if (drag) return;
      const p = local(e);
      const r = rowAt(p.y);
      const t = tOf(p.x);
      const li = logAt(r, t);
      if (li >= 0) {
        const text = T.pval[li] >= 0 ? T.meta.logs[T.pval[li]] : '(text not sent)';
        CP.tip(e, `<b>log</b> <span class="hint">${CP.esc(T.names[T.pwhat[li]])}</span> at ${CP.dur(T.pns[li])}<br>${CP.esc(text)}`);
        return;
      }
      const i = spanAt(r, t, 2);
      if (i >= 0) CP.tip(e, spanDetails(i) + `<br><span class="hint">${CP.esc(threadLabel2(r))}</span>`);
      else if (r && r.state && r.thread >= 0) CP.tip(e, `${CP.esc(threadLabel(r.thread))}: running at ${CP.dur(t)}`);
      else CP.tip();
    };
    canvas.addEventListener('mousemove', hover);
    canvas.addEventListener('mouseleave', () => CP.tip());
    V.onKey = (e) => {
      if (!V || document.activeElement === CP.$('#search')) return;
      const k = e.key.toLowerCase();
      if (k === 'w') zoom(0.7);
      else if (k === 's') zoom(1 / 0.7);
      else if (k === 'a') pan(-V.W * 0.15);
      else if (k === 'd') pan(V.W * 0.15);
      else if (k === '0') fitAll();
      else return;
      e.preventDefault();
    };
    document.addEventListener('keydown', V.onKey);
  }

  const threadLabel2 = (r) => (r.thread >= 0 ? 'thread ' + threadLabel(r.thread) : 'tasks');

  function detach() {
    if (!V) return;
    window.removeEventListener('mousemove', V.onMove);
    window.removeEventListener('mouseup', V.onUp);
    document.removeEventListener('keydown', V.onKey);
    V = null;
  }

  /* ---- summaries ---------------------------------------------------------------------- */

  const pctile = (sorted, p) => sorted[Math.max(0, Math.ceil(sorted.length * p / 100) - 1)];

  /* Per thread, time by state inside [t0, t1]; per region and task name,
   * the spans that overlap it; logs and CPU samples in it. */
  function summarize(t0, t1) {
    const threads = T.meta.threads.map((x) => ({
      life: Math.max(0, Math.min(x.end, t1) - Math.max(x.begin, t0)), sync: 0, syscall: 0, sleep: 0,
      byState: {}, lost: x.lost,
    }));
    const byName = [new Map(), new Map()]; // regions, tasks
    for (const [key, lane] of T.lanes) {
      const [th, g] = key.split(':').map(Number);
      const end = lane.off + lane.n;
      for (let i = firstEnding(lane.off, lane.n, t0); i < end && T.b[i] <= t1; i++) {
        const k = kindOf(i);
        const full = T.e[i] - T.b[i];
        const inside = Math.max(0, Math.min(T.e[i], t1) - Math.max(T.b[i], t0));
        if (g === 0) {
          const x = threads[th];
          const life = T.meta.threads[th];
          const d = Math.max(0, Math.min(T.e[i], t1, life.end) - Math.max(T.b[i], t0, life.begin));
          if (k === K_WAIT) {
            const s = T.id[i];
            if (s === S_SLEEP) x.sleep += d;
            else if (s === S_SYSCALL) x.syscall += d;
            else {
              x.sync += d;
              const nm = T.names[T.what[i]];
              const e = x.byState[nm] || (x.byState[nm] = {ns: 0, n: 0});
              e.ns += d;
              e.n++;
            }
          } else if (T.aux[i]) x.sleep += d;
          else x.syscall += d;
        } else {
          const m = byName[k === K_TASK ? 1 : 0];
          const nm = T.names[T.what[i]];
          let e = m.get(nm);
          if (!e) m.set(nm, e = {name: nm, durs: [], inside: 0});
          e.durs.push(full);
          e.inside += inside;
        }
      }
    }
    const tables = byName.map((m) => [...m.values()].map((e) => {
      const d = Float64Array.from(e.durs).sort();
      let total = 0;
      for (const x of d) total += x;
      return {name: e.name, count: d.length, total, inside: e.inside, p50: pctile(d, 50), p90: pctile(d, 90), p99: pctile(d, 99), max: d[d.length - 1]};
    }).sort((a, b) => b.total - a.total));
    const logs = [], cats = new Map(), leaves = new Map();
    let samples = 0;
    for (const [key, pl] of T.points) {
      const [th, k] = key.split(':').map(Number);
      const end = pl.off + pl.n;
      for (let i = firstPoint(pl.off, pl.n, t0); i < end && T.pns[i] <= t1; i++) {
        if (k === 0) {
          const c = T.names[T.pwhat[i]];
          cats.set(c, (cats.get(c) || 0) + 1);
          if (logs.length < 200) logs.push([T.pns[i], th, c, T.pval[i] >= 0 ? T.meta.logs[T.pval[i]] : '']);
        } else if (k === 1) {
          samples++;
          const fr = T.paux[i] ? T.meta.stacks[T.paux[i] - 1] : null;
          const leaf = fr && fr.length ? T.names[fr[0]] : '(no stack)';
          leaves.set(leaf, (leaves.get(leaf) || 0) + 1);
        }
      }
    }
    logs.sort((a, b) => a[0] - b[0]);
    return {t0, t1, threads, regions: tables[0], tasks: tables[1], logs, cats, samples, leaves};
  }

  function table(cls, head, rows, caption) {
    const t = CP.el('table', {class: cls});
    if (caption) t.append(CP.el('caption', {text: caption}));
    t.innerHTML += '<thead><tr>' + head.map((h) => `<th scope="col">${CP.esc(h)}</th>`).join('') + '</tr></thead>';
    const tb = CP.el('tbody');
    const numeric = /^-?[\d.]+(ns|us|ms|s|%)?$/;
    tb.innerHTML = rows.map((r) => '<tr>' + r.map((c, k) => `<td class="${k === 0 ? 'name' : numeric.test(c) ? 'num' : ''}">${CP.esc(c)}</td>`).join('') + '</tr>').join('');
    t.append(tb);
    return t;
  }

  /* The tables of `cprof trace summary`, over [s.t0, s.t1]. */
  function renderSummary(el, s, whole) {
    const out = [];
    const thRows = [];
    T.meta.threads.forEach((x, i) => {
      const st = s.threads[i];
      if (!whole && st.life <= 0) return;
      const run = Math.max(0, st.life - st.sync - st.syscall - st.sleep);
      const sync = Object.entries(st.byState).map(([k, v]) => `${k} ${CP.dur(v.ns)} (${v.n})`).join(', ');
      const row = [String(x.tid), x.name || (x.unregistered ? '-' : '?'), CP.dur(x.begin), CP.dur(st.life), CP.dur(run), CP.dur(st.sync), CP.dur(st.syscall), CP.dur(st.sleep)];
      thRows.push(row.concat(whole ? [String(x.lost), sync] : [sync]));
    });
    const thHead = ['TID', 'Name', 'Start', whole ? 'Lifetime' : 'In range', 'Running', 'Sync', 'Syscall', 'Sleep'].concat(whole ? ['Lost', 'Sync waits'] : ['Sync waits']);
    out.push(table('summary threads', thHead, thRows,
      'Threads (time by state; sync = waits on locks and other threads)'));
    const spanRows = (list) => list.map((e) => whole ? [e.name, String(e.count), CP.dur(e.total), CP.dur(e.p50), CP.dur(e.p90), CP.dur(e.p99), CP.dur(e.max)]
      : [e.name, String(e.count), CP.dur(e.inside), CP.dur(e.total), CP.dur(e.p50), CP.dur(e.max)]);
    const spanHead = whole ? ['Name', 'Count', 'Total', 'P50', 'P90', 'P99', 'Max'] : ['Name', 'Count', 'In range', 'Total', 'P50', 'Max'];
    if (s.tasks.length) out.push(table('summary tasks', spanHead, spanRows(s.tasks), 'Tasks'));
    if (s.regions.length) out.push(table('summary regions', spanHead, spanRows(s.regions), 'Regions'));
    if (s.cats.size) {
      out.push(table('summary logcats', ['Category', 'Count'], [...s.cats].sort((a, b) => b[1] - a[1]).map(([c, n]) => [c, String(n)]), 'Logs by category'));
      out.push(table('summary logs', ['Time', 'Thread', 'Category', 'Message'], s.logs.slice(0, whole ? 50 : 200).map((l) => [CP.dur(l[0]), threadLabel(l[1]), l[2], l[3]]),
        s.logs.length > 50 && whole ? 'Logs (the first 50)' : 'Logs'));
    }
    if (s.samples) {
      const rows = [...s.leaves].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([f, n]) => [f, String(n), CP.pct(n, s.samples)]);
      out.push(table('summary cpu', ['Function (leaf)', 'Samples', 'Share'], rows, `CPU samples: ${s.samples}`));
    }
    el.append(...out);
  }

  function summarizeSelection() {
    const el = V.selEl;
    el.textContent = '';
    if (!V.sel) {
      el.append(CP.el('p', {class: 'hint', text: 'Drag across the rows to select a time range, or click a span: its summary appears here.'}));
      return;
    }
    const [t0, t1] = V.sel;
    const head = CP.el('h3', {id: 'selection-title', text: `Selection: ${CP.dur(t0)} – ${CP.dur(t1)} (${CP.dur(t1 - t0)})`});
    head.append(' ', CP.el('button', {text: 'Zoom to selection', onclick: () => {
      const pad = (t1 - t0) * 0.05 || 1000;
      show(t0 - pad, t1 + pad);
    }}));
    el.append(head);
    if (V.hot >= 0) {
      const d = CP.el('p', {class: 'span-details'});
      d.innerHTML = spanDetails(V.hot);
      el.append(d);
    }
    renderSummary(el, summarize(t0, t1), false);
  }

  /* ---- the views ------------------------------------------------------------------------ */

  function warnings(el) {
    const m = T.meta;
    const notes = [];
    if (m.truncated) notes.push('The file was cut short: ' + m.warning);
    if (m.lost || m.lostInRecords) notes.push(`${Math.max(m.lost, m.lostInRecords)} events were lost while tracing.`);
    if (m.droppedSpans) notes.push(`${m.droppedSpans} spans overlapped too deeply to draw (they are left out of the tables as well).`);
    if (m.unmatchedEnds) notes.push(`${m.unmatchedEnds} region or task ends without a begin in the trace (begun before it started).`);
    for (const n of notes) el.append(CP.el('p', {class: 'warning', text: n}));
  }

  CP.views.timeline = {
    label: 'Timeline',
    kind: 'trace',
    async render(el, s) {
      detach();
      el.textContent = '';
      await load();
      CP.status('');
      warnings(el);
      const bar = CP.el('div', {class: 'toolbar'});
      const range = CP.el('span', {class: 'num tl-range'});
      bar.append(CP.el('button', {text: '−', title: 'Zoom out (S)', onclick: () => zoom(1 / 0.6)}),
        CP.el('button', {text: '+', title: 'Zoom in (W)', onclick: () => zoom(0.6)}),
        CP.el('button', {text: 'Fit', title: 'The whole trace (0)', onclick: fitAll}), ' ', range,
        CP.el('span', {class: 'hint', text: ' Ctrl+wheel or W/S zoom, Shift+wheel, A/D or dragging the time axis pan; drag across rows to select, click a span.'}),
        CP.el('span', {class: 'legend'}, ...[['#bfe5c6', 'running'], ['#d9534f', 'sync wait'], ['#7e6bc4', 'syscall'], ['#9aa7b8', 'sleep'], ['#1f4fb0', 'log'], ['#222', 'CPU sample']]
          .map(([c, t]) => CP.el('span', {class: 'key'}, CP.el('i', {style: 'background:' + c}), t))));
      const axis = CP.el('div', {class: 'tl-axis', title: 'Drag to pan'});
      const scroll = CP.el('div', {class: 'tl-scroll'});
      const inner = CP.el('div', {class: 'tl-inner'});
      const labelsCol = CP.el('div', {class: 'tl-labels'});
      const canvas = CP.el('canvas', {class: 'tl-canvas', 'aria-label': 'Timeline of the trace; the names of regions and tasks are the labels over it'});
      const overlay = CP.el('div', {class: 'tl-overlay'});
      inner.append(canvas, labelsCol, overlay);
      scroll.append(inner);
      const selEl = CP.el('div', {class: 'tl-selection', id: 'selection'});
      el.append(bar, axis, scroll, selEl);
      const {rows, height} = buildRows();
      inner.style.height = height + 'px';
      scroll.style.height = Math.round(Math.min(height + 2, Math.max(240, window.innerHeight * 0.6))) + 'px';
      labelsCol.innerHTML = rows.filter((r) => r.type !== 'lane').map((r) =>
        `<div class="tl-row-label${r.type === 'head' && r.thread >= 0 ? ' thread' : ''}" style="top:${r.y}px" title="${CP.esc(r.label)}">${CP.esc(r.label)}</div>`).join('');
      V = {canvas, scroll, axis, overlay, range, selEl, rows, v0: 0, v1: 1, sel: null, hot: -1, W: Math.max(1, scroll.clientWidth - LABEL_W - 2), k: 1};
      fitAll();
      if (s.t0 !== null && s.t1 !== null && !isNaN(Number(s.t0)) && !isNaN(Number(s.t1))) V.sel = [Number(s.t0), Number(s.t1)];
      attach();
      draw();
      summarizeSelection();
    },
    search() { schedule(); },
    resize() { schedule(); },
    leave: detach,
  };

  CP.views.summary = {
    label: 'Trace summary',
    kind: 'trace',
    async render(el) {
      detach();
      el.textContent = '';
      await load();
      CP.status('');
      const m = T.meta;
      const info = Object.fromEntries(m.info.map((kv) => { const i = kv.indexOf('='); return [kv.slice(0, i), kv.slice(i + 1)]; }));
      const head = CP.el('div', {class: 'trace-head'});
      head.append(CP.el('h2', {text: 'Trace: ' + m.file}),
        CP.el('p', {text: `pid ${info.pid || '?'}, written by cprof ${info.cprof || '?'}, ticks: ${m.tsc ? 'TSC' : 'ns'}; started ${new Date(m.startUnixNs / 1e6).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}, duration ${CP.dur(m.duration)}`}),
        CP.el('p', {text: `events: ${m.events} read, ${m.written} written, ${m.lost} lost; ${T.n} spans, ${T.m} instants`}));
      el.append(head);
      warnings(el);
      renderSummary(el, summarize(-Infinity, Infinity), true);
      for (const [ns, text] of m.notes) el.append(CP.el('p', {class: 'hint', text: `note at ${CP.dur(ns)}: ${text}`}));
    },
    leave: detach,
  };
})();
