/*
 * graph.js: the Graph view, pprof's call graph of the heaviest functions
 * (api/graph: report.c's trimmed graph, 80 nodes by default), laid out here
 * without Graphviz: callers above callees in layers (longest path from the
 * roots, cycles broken where a depth-first walk meets them), long edges
 * routed through dummy points, the order in each layer settled by
 * barycentre sweeps. Drawn as SVG: each function is a <g> with its name in
 * a <text>. Wheel zooms, drag pans, click opens Peek; search highlights.
 */
'use strict';

(function () {
  const SVGNS = 'http://www.w3.org/2000/svg';
  const LAYER_H = 110;
  const GAP = 28;
  let cur = null;

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* Layers, order and positions of nodes (real ones first, then dummies). */
  function layout(g) {
    const n = g.nodes.length;
    const index = new Map(g.nodes.map((nd, i) => [nd[0], i]));
    const out = Array.from({length: n}, () => []);
    const inc = Array.from({length: n}, () => []);
    const edges = [];
    for (const e of g.edges) {
      const a = index.get(e[0]), b = index.get(e[1]);
      if (a === undefined || b === undefined) continue;
      edges.push({a, b, w: e[2], inl: e[3], res: e[4], rev: false});
    }
    for (const e of edges) if (e.a !== e.b) { out[e.a].push(e); inc[e.b].push(e); }
    /* Break cycles: a depth-first walk from the roots (heaviest first) marks the edges back to its path. */
    const state = new Uint8Array(n); // 0 new, 1 on path, 2 done
    const order = [...Array(n).keys()];
    order.sort((x, y) => (inc[x].length ? 1 : 0) - (inc[y].length ? 1 : 0) || g.nodes[y][2] - g.nodes[x][2]);
    for (const s of order) {
      if (state[s]) continue;
      const stack = [[s, 0]];
      state[s] = 1;
      while (stack.length) {
        const top = stack[stack.length - 1];
        const [v, k] = top;
        if (k < out[v].length) {
          top[1]++;
          const e = out[v][k];
          if (state[e.b] === 1) e.rev = true;
          else if (state[e.b] === 0) { state[e.b] = 1; stack.push([e.b, 0]); }
        } else {
          state[v] = 2;
          stack.pop();
        }
      }
    }
    /* Longest path layering over the acyclic edges. */
    const indeg = new Int32Array(n);
    const dag = Array.from({length: n}, () => []);
    for (const e of edges) {
      if (e.a === e.b) continue;
      const [u, v] = e.rev ? [e.b, e.a] : [e.a, e.b];
      dag[u].push(v);
      indeg[v]++;
    }
    const layer = new Int32Array(n);
    const queue = [];
    for (let i = 0; i < n; i++) if (!indeg[i]) queue.push(i);
    for (let qi = 0; qi < queue.length; qi++) {
      const u = queue[qi];
      for (const v of dag[u]) {
        layer[v] = Math.max(layer[v], layer[u] + 1);
        if (--indeg[v] === 0) queue.push(v);
      }
    }
    /* Nodes: real, then a dummy per layer crossed by a long edge. */
    const nodes = [];
    for (let i = 0; i < n; i++) nodes.push({i, layer: layer[i], dummy: false, w: 0, h: 0, x: 0, up: [], down: []});
    const link = (u, v) => { nodes[u].down.push(v); nodes[v].up.push(u); };
    for (const e of edges) {
      if (e.a === e.b) continue;
      let [u, v] = e.rev ? [e.b, e.a] : [e.a, e.b];
      e.points = [u];
      for (let l = layer[u] + 1; l < layer[v]; l++) {
        const d = nodes.length;
        nodes.push({layer: l, dummy: true, w: 8, h: 0, x: 0, up: [], down: []});
        link(u, d);
        e.points.push(d);
        u = d;
      }
      link(u, v);
      e.points.push(v);
      if (e.rev) e.points.reverse();
    }
    const nl = Math.max(0, ...nodes.map((x) => x.layer)) + 1;
    const layers = Array.from({length: nl}, () => []);
    /* First order: as met walking from the heaviest roots. */
    const seen = new Uint8Array(nodes.length);
    const visit = (v) => {
      const st = [v];
      while (st.length) {
        const x = st.pop();
        if (seen[x]) continue;
        seen[x] = 1;
        layers[nodes[x].layer].push(x);
        for (let k = nodes[x].down.length - 1; k >= 0; k--) st.push(nodes[x].down[k]);
      }
    };
    for (const s of order) visit(s);
    for (let v = 0; v < nodes.length; v++) visit(v);
    const pos = new Float64Array(nodes.length);
    const setPos = () => layers.forEach((L) => L.forEach((v, k) => { pos[v] = k; }));
    setPos();
    const bary = (v, dir) => {
      const nb = dir ? nodes[v].up : nodes[v].down;
      if (!nb.length) return pos[v];
      let s = 0;
      for (const u of nb) s += pos[u];
      return s / nb.length;
    };
    for (let it = 0; it < 12; it++) {
      const down = it % 2 === 0;
      const seq = down ? layers.slice(1) : layers.slice(0, -1).reverse();
      for (const L of seq) {
        const b = new Map(L.map((v) => [v, bary(v, down)]));
        L.sort((x, y) => b.get(x) - b.get(y));
        L.forEach((v, k) => { pos[v] = k; });
      }
    }
    /* Wide layers (functions without calls between them) wrap onto several rows. */
    const perRow = Math.max(8, Math.ceil(Math.sqrt(n) * 1.2));
    const rows = [];
    for (const L of layers) {
      for (let k = 0; k < L.length || k === 0; k += perRow) {
        const chunk = L.slice(k, k + perRow);
        for (const v of chunk) nodes[v].row = rows.length;
        rows.push(chunk);
      }
    }
    return {nodes, layers: rows, edges, n};
  }

  /* x positions: packed per layer, then pulled toward the neighbours' centres. */
  function place(L) {
    const {nodes, layers} = L;
    for (const layer of layers) {
      let x = 0;
      for (const v of layer) { nodes[v].x = x + nodes[v].w / 2; x += nodes[v].w + GAP; }
    }
    for (let it = 0; it < 24; it++) {
      const down = it % 2 === 0;
      for (const layer of down ? layers : layers.slice().reverse()) {
        const want = layer.map((v) => {
          const nb = nodes[v].up.concat(nodes[v].down);
          if (!nb.length) return nodes[v].x;
          let s = 0;
          for (const u of nb) s += nodes[u].x;
          return s / nb.length;
        });
        for (let k = 0; k < layer.length; k++) nodes[layer[k]].x = want[k];
        /* Keep the order and the gaps: push right, then pull back left. */
        for (let k = 1; k < layer.length; k++) {
          const a = nodes[layer[k - 1]], b = nodes[layer[k]];
          const min = a.x + a.w / 2 + GAP + b.w / 2;
          if (b.x < min) b.x = min;
        }
        for (let k = layer.length - 2; k >= 0; k--) {
          const a = nodes[layer[k]], b = nodes[layer[k + 1]];
          const max = b.x - b.w / 2 - GAP - a.w / 2;
          if (a.x > max) a.x = max;
        }
      }
    }
    let minX = Infinity, maxX = -Infinity;
    for (const nd of nodes) { minX = Math.min(minX, nd.x - nd.w / 2); maxX = Math.max(maxX, nd.x + nd.w / 2); }
    for (const nd of nodes) nd.x -= minX - 20;
    return {width: maxX - minX + 40, height: layers.length * LAYER_H + 20};
  }

  function nodeFill(id, cum, total) {
    const p = CP.prof;
    if (p.base) return CP.deltaColour(p.cum[id] - p.baseCum[id], cur.maxDelta);
    const s = Math.sqrt(Math.min(1, Math.abs(cum) / (total || 1)));
    return `hsl(8,${Math.round(25 + 65 * s)}%,${Math.round(94 - 34 * s)}%)`;
  }

  function draw(el, g) {
    const total = CP.prof.profile.total;
    const L = layout(g);
    const maxFlat = Math.max(1, ...g.nodes.map((x) => Math.abs(x[1])));
    cur.maxDelta = 0;
    if (CP.prof.base) for (const nd of g.nodes) cur.maxDelta = Math.max(cur.maxDelta, Math.abs(CP.prof.cum[nd[0]] - CP.prof.baseCum[nd[0]]));
    for (const nd of L.nodes) {
      if (nd.dummy) continue;
      const [id, flat] = g.nodes[nd.i];
      nd.font = 10 + Math.round(14 * Math.sqrt(Math.abs(flat) / maxFlat));
      const name = CP.name(id);
      nd.w = Math.max(name.length * nd.font * 0.6, 150) + 16;
      nd.h = nd.font + 34;
    }
    const size = place(L);
    const root = svg('svg', {class: 'graph', role: 'img', 'aria-label': 'Call graph', viewBox: `0 0 ${size.width} ${size.height}`});
    const defs = svg('defs', {});
    const marker = svg('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '11', markerHeight: '11', markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse'});
    marker.append(svg('path', {d: 'M0,0 L10,5 L0,10 z', fill: '#555'}));
    defs.append(marker);
    root.append(defs);
    const ey = (v, end) => {
      const nd = L.nodes[v];
      const y = nd.row * LAYER_H + 20;
      if (nd.dummy) return y + 20;
      return end === 'top' ? y : y + nd.h;
    };
    const maxW = Math.max(1, ...g.edges.map((e) => Math.abs(e[2])));
    const edgeLayer = svg('g', {class: 'edges'});
    for (const e of L.edges) {
      if (!e.points) continue;
      const pts = e.points.map((v, k) => [L.nodes[v].x, k === 0 ? ey(v, 'bottom') : k === e.points.length - 1 ? ey(v, 'top') : ey(v)]);
      if (e.rev) {
        /* Drawn from the caller (below) up to the callee. */
        pts[0][1] = ey(e.points[0], 'top');
        pts[pts.length - 1][1] = ey(e.points[e.points.length - 1], 'bottom');
      }
      let d = `M${pts[0][0].toFixed(1)},${pts[0][1].toFixed(1)}`;
      for (let k = 1; k < pts.length; k++) {
        const [x0, y0] = pts[k - 1], [x1, y1] = pts[k];
        const my = (y0 + y1) / 2;
        d += ` C${x0.toFixed(1)},${my.toFixed(1)} ${x1.toFixed(1)},${my.toFixed(1)} ${x1.toFixed(1)},${y1.toFixed(1)}`;
      }
      const sw = 1 + 5 * Math.abs(e.w) / maxW;
      const path = svg('path', {d, class: 'edge' + (e.inl ? ' inline' : '') + (e.res ? ' residual' : ''), 'stroke-width': sw.toFixed(2), 'marker-end': 'url(#arrow)'});
      const caller = CP.name(g.nodes[e.a][0]), callee = CP.name(g.nodes[e.b][0]);
      path.append(svg('title', {}, `${caller} → ${callee}: ${CP.fmt(e.w)}${e.inl ? ' (inline)' : ''}`));
      edgeLayer.append(path);
      const mid = pts[Math.floor(pts.length / 2)], prev = pts[Math.floor(pts.length / 2) - 1] || mid;
      edgeLayer.append(svg('text', {x: ((mid[0] + prev[0]) / 2 + 6).toFixed(1), y: ((mid[1] + prev[1]) / 2).toFixed(1), class: 'elabel'}, ' ' + CP.fmt(e.w)));
    }
    for (const e of L.edges) {
      if (e.a !== e.b) continue;
      const nd = L.nodes[e.a], y = nd.row * LAYER_H + 20;
      const x = nd.x + nd.w / 2;
      const p = svg('path', {d: `M${x},${y + 8} C${x + 40},${y - 10} ${x + 40},${y + nd.h + 10} ${x},${y + nd.h - 8}`, class: 'edge', 'marker-end': 'url(#arrow)'});
      p.append(svg('title', {}, `${CP.name(g.nodes[e.a][0])} → itself: ${CP.fmt(e.w)}`));
      edgeLayer.append(p);
    }
    root.append(edgeLayer);
    const nodeLayer = svg('g', {class: 'nodes'});
    for (const nd of L.nodes) {
      if (nd.dummy) continue;
      const [id, flat, cum] = g.nodes[nd.i];
      const x = nd.x - nd.w / 2, y = nd.row * LAYER_H + 20;
      const grp = svg('g', {class: 'node', 'data-f': id, tabindex: '0'});
      grp.append(svg('rect', {x: x.toFixed(1), y, width: nd.w.toFixed(1), height: nd.h, rx: 4, fill: nodeFill(id, cum, total)}));
      grp.append(svg('text', {x: nd.x.toFixed(1), y: y + nd.font + 3, 'font-size': nd.font, class: 'fname'}, CP.name(id)));
      grp.append(svg('text', {x: nd.x.toFixed(1), y: y + nd.font + 17, class: 'fval'}, `${CP.fmt(flat)} (${CP.pct(flat, total)})`));
      grp.append(svg('text', {x: nd.x.toFixed(1), y: y + nd.font + 30, class: 'fval'}, `of ${CP.fmt(cum)} (${CP.pct(cum, total)})`));
      grp.append(svg('title', {}, `${CP.name(id)}\nflat ${CP.fmt(flat)} (${CP.pct(flat, total)}), cum ${CP.fmt(cum)} (${CP.pct(cum, total)})`));
      nodeLayer.append(grp);
    }
    root.append(nodeLayer);
    el.append(root);
    cur.svg = root;
    cur.vb = {x: 0, y: 0, w: size.width, h: size.height};
    fit();
    interact(root);
    highlight();
  }

  /* The whole graph in view, or at most at natural size. */
  function fit() {
    const box = cur.svg.getBoundingClientRect();
    const vb = cur.vb;
    const s = Math.max(vb.w / Math.max(1, box.width), vb.h / Math.max(1, box.height), 1);
    cur.view = {x: 0, y: 0, w: box.width * s, h: box.height * s};
    setView();
  }

  function setView() {
    const v = cur.view;
    cur.svg.setAttribute('viewBox', `${v.x} ${v.y} ${v.w} ${v.h}`);
  }

  function interact(root) {
    root.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = root.getBoundingClientRect();
      const v = cur.view;
      const fx = (e.clientX - r.left) / r.width, fy = (e.clientY - r.top) / r.height;
      const k = Math.exp(e.deltaY * 0.0015);
      const nw = v.w * k, nh = v.h * k;
      v.x += (v.w - nw) * fx;
      v.y += (v.h - nh) * fy;
      v.w = nw;
      v.h = nh;
      setView();
    }, {passive: false});
    root.addEventListener('mousedown', (e) => { drag = {x: e.clientX, y: e.clientY, vx: cur.view.x, vy: cur.view.y, moved: false}; });
    root.addEventListener('click', (e) => {
      if (drag && drag.moved) return;
      const n = e.target.closest('.node');
      if (n) CP.go({view: 'peek', f: Number(n.dataset.f)});
    });
    root.addEventListener('keydown', (e) => {
      const n = e.target.closest('.node');
      if (n && e.key === 'Enter') CP.go({view: 'peek', f: Number(n.dataset.f)});
    });
  }

  /* Dragging pans; the listeners are the window's, added once. */
  let drag = null;
  window.addEventListener('mousemove', (e) => {
    if (!drag || !cur || !cur.svg) return;
    const r = cur.svg.getBoundingClientRect();
    const dx = (e.clientX - drag.x) * cur.view.w / r.width, dy = (e.clientY - drag.y) * cur.view.h / r.height;
    if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 3) drag.moved = true;
    cur.view.x = drag.vx - dx;
    cur.view.y = drag.vy - dy;
    setView();
  });
  window.addEventListener('mouseup', () => { setTimeout(() => { drag = null; }, 0); });

  function highlight() {
    if (!cur || !cur.svg) return;
    for (const n of cur.svg.querySelectorAll('.node')) n.classList.toggle('match', CP.matches(CP.name(Number(n.dataset.f))));
    cur.svg.classList.toggle('searching', !!CP.search);
  }

  CP.views.graph = {
    label: 'Graph',
    kind: 'profile',
    async render(el) {
      el.textContent = '';
      const key = `graph:${CP.prof.sampleIndex}`;
      if (!CP.cache[key]) CP.cache[key] = CP.fetchJSON(`api/graph?${CP.siQuery()}&nodecount=80`);
      const g = await CP.cache[key];
      const bar = CP.el('div', {class: 'toolbar'});
      bar.append(CP.el('button', {text: 'Fit', onclick: () => fit()}),
        CP.el('span', {class: 'hint', text: ` ${g.shown} of ${g.orig} functions` + (g.droppedNodes ? `, ${g.droppedNodes} under 0.5% left out` : '') +
          (g.droppedEdges ? `, ${g.droppedEdges} calls under 0.1% left out` : '') + '. Box size: flat; colour: cum' + (CP.prof.base ? ' change' : '') + '; dashed: inlined. Wheel zooms, drag pans, click opens Peek.'}));
      el.append(bar);
      cur = {};
      if (!g.nodes.length) {
        el.append(CP.el('p', {class: 'hint', text: 'No functions to draw.'}));
        return;
      }
      const holder = CP.el('div', {class: 'graph-holder'});
      el.append(holder);
      draw(holder, g);
    },
    search: highlight,
    resize() { if (cur && cur.svg) fit(); },
  };
})();
