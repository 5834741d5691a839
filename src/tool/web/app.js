/*
 * app.js: the shell of cprof's web UI and the table views of a profile
 * (Top, Source, Peek). flame.js, graph.js and timeline.js add their views
 * to CP.views. Plain ES2017, no framework, no build step: the files are
 * served as they are by `cprof web` (src/tool/cmd_web.c).
 *
 * State lives in the URL's fragment (#view=flame&si=1&root=12&q=re&f=3),
 * so that a view can be reloaded, bookmarked, or opened directly by a test.
 * Every function name a view shows is text in the DOM (a table cell, a
 * frame's label, an SVG <text>), never only pixels on a canvas.
 */
'use strict';

const CP = {
  session: null, // /api/session
  prof: null, // /api/profile for the current sample index
  views: {}, // name → {label, kind: 'profile'|'trace', render(el), search()}
  order: ['flame', 'top', 'graph', 'source', 'peek', 'timeline', 'summary'],
  state: {view: '', si: -1, q: '', f: -1, root: 0},
  search: null, // RegExp or null
  rendered: false,
};
window.CP = CP;

/* ---- helpers ----------------------------------------------------------------- */

CP.$ = (sel, el) => (el || document).querySelector(sel);

CP.esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));

CP.el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const k in attrs || {}) {
    if (k === 'class') e.className = attrs[k];
    else if (k === 'text') e.textContent = attrs[k];
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), attrs[k]);
    else if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
  }
  for (const c of kids) if (c !== null && c !== undefined) e.append(c);
  return e;
};

CP.fetchJSON = async (url) => {
  const r = await fetch(url);
  const body = await r.json().catch(() => ({error: 'bad JSON from ' + url}));
  if (!r.ok || body.error) throw new Error(body.error || r.status + ' ' + r.statusText);
  return body;
};

CP.status = (text, isError) => {
  const s = CP.$('#status');
  s.textContent = text || '';
  s.classList.toggle('error', !!isError);
};

/* Units as pprof scales them: time and memory in the largest unit that
 * keeps the value at or above 1, two decimals, ".00" dropped. */
const TIME_UNITS = [['ns', 1], ['us', 1e3], ['ms', 1e6], ['s', 1e9], ['hrs', 3600e9]];
const MEM_UNITS = [['B', 1], ['kB', 1024], ['MB', 1024 ** 2], ['GB', 1024 ** 3], ['TB', 1024 ** 4], ['PB', 1024 ** 5]];
const UNIT_ALIASES = {
  ns: ['time', 1], nanosecond: ['time', 1], us: ['time', 1e3], 'μs': ['time', 1e3], microsecond: ['time', 1e3],
  ms: ['time', 1e6], millisecond: ['time', 1e6], s: ['time', 1e9], sec: ['time', 1e9], second: ['time', 1e9],
  hour: ['time', 3600e9], hr: ['time', 3600e9],
  b: ['mem', 1], byte: ['mem', 1], kb: ['mem', 1024], kbyte: ['mem', 1024], kilobyte: ['mem', 1024],
  mb: ['mem', 1024 ** 2], mbyte: ['mem', 1024 ** 2], megabyte: ['mem', 1024 ** 2],
  gb: ['mem', 1024 ** 3], gbyte: ['mem', 1024 ** 3], gigabyte: ['mem', 1024 ** 3],
};

function unitOf(unit) {
  let u = String(unit || '').toLowerCase();
  if (u.length > 2 && u.endsWith('s')) u = u.slice(0, -1);
  return UNIT_ALIASES[u] || null;
}

CP.fmt = (v, unit) => {
  const u = unitOf(unit === undefined ? CP.prof && CP.prof.profile.unit : unit);
  if (!u) return String(v);
  if (v === 0) return '0';
  const neg = v < 0;
  const x = Math.abs(v) * u[1];
  const fam = u[0] === 'time' ? TIME_UNITS : MEM_UNITS;
  let best = u[0] === 'time' ? fam[3] : fam[0];
  let found = false;
  for (const f of fam) if (x / f[1] >= 1 && (!found || f[1] >= best[1])) { best = f; found = true; }
  let s = (x / best[1]).toFixed(2);
  if (s.endsWith('.00')) s = s.slice(0, -3);
  return (neg ? '-' : '') + s + best[0];
};

CP.pct = (v, total) => (total ? (100 * v / total).toFixed(2) : '0.00') + '%';

/* Durations as `cprof trace summary` prints them: three significant digits. */
CP.dur = (ns) => {
  const neg = ns < 0;
  ns = Math.abs(ns);
  let s;
  if (ns < 1e3) s = Math.round(ns) + 'ns';
  else {
    const [u, f] = ns < 1e6 ? ['us', 1e3] : ns < 1e9 ? ['ms', 1e6] : ['s', 1e9];
    const v = ns / f;
    s = (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + u;
  }
  return (neg ? '-' : '') + s;
};

/* flamegraph.pl's warm palette from the name's FNV-1a hash, as `cprof flame`. */
CP.hash = (s) => {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i) & 0xff;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h >>> 0;
};
CP.warm = (name) => {
  const h = CP.hash(name);
  const v1 = (h & 0xff) / 255, v2 = ((h >>> 8) & 0xff) / 255, v3 = ((h >>> 16) & 0xff) / 255;
  return `rgb(${205 + Math.floor(50 * v3)},${Math.floor(230 * v1)},${Math.floor(55 * v2)})`;
};
/* White for no change, deeper red (grew) or blue (shrank) toward the largest change. */
CP.deltaColour = (delta, maxAbs) => {
  const r = maxAbs ? Math.abs(delta) / maxAbs : 0;
  const fade = 255 - Math.floor(r * 200);
  if (delta > 0) return `rgb(255,${fade},${fade})`;
  if (delta < 0) return `rgb(${fade},${fade},255)`;
  return 'rgb(250,250,250)';
};

CP.name = (id) => (id < 0 ? 'root' : CP.prof.names[id]);
CP.matches = (name) => !!CP.search && CP.search.test(name);

/* ---- the URL's fragment ----------------------------------------------------------- */

CP.readHash = () => {
  const p = new URLSearchParams(location.hash.slice(1));
  const num = (k, d) => (p.has(k) && /^-?\d+$/.test(p.get(k)) ? Number(p.get(k)) : d);
  return {view: p.get('view') || '', si: num('si', -1), q: p.get('q') || '', f: num('f', -1), root: num('root', 0),
    t0: p.get('t0'), t1: p.get('t1')};
};

/* Changes some of the state; the hashchange handler renders. */
CP.go = (changes) => {
  const s = Object.assign({}, CP.readHash(), changes);
  const p = new URLSearchParams();
  for (const k of ['view', 'si', 'f', 'root', 'q', 't0', 't1']) {
    const v = s[k];
    if (v === undefined || v === null || v === '' || (k === 'si' && v < 0) || (k === 'f' && v < 0) || (k === 'root' && !v)) continue;
    p.set(k, v);
  }
  const h = '#' + p.toString();
  if (h === location.hash) CP.render();
  else location.hash = h;
};

/* ---- the shell ---------------------------------------------------------------- */

function tabsFor() {
  return CP.order.filter((v) => CP.views[v] && ((CP.views[v].kind === 'profile' && CP.session.profiles.length) ||
    (CP.views[v].kind === 'trace' && CP.session.trace)));
}

function drawTabs(current) {
  const nav = CP.$('#tabs');
  nav.textContent = '';
  for (const v of tabsFor()) {
    nav.append(CP.el('button', {role: 'tab', 'data-view': v, 'aria-selected': String(v === current),
      class: v === current ? 'on' : '', text: CP.views[v].label, onclick: () => CP.go({view: v, root: 0})}));
  }
}

function drawInfo() {
  const parts = [];
  if (CP.prof) {
    const p = CP.prof.profile;
    parts.push(`<b>${CP.esc(p.files.join(', '))}</b> · ${CP.esc(p.type)} · total ${CP.esc(CP.fmt(p.total))}`);
    if (p.duration) parts.push('duration ' + CP.esc(CP.fmt(p.duration, 'nanoseconds')));
    if (CP.prof.base) parts.push(`base <b>${CP.esc(CP.prof.base.files.join(', '))}</b> (total ${CP.esc(CP.fmt(CP.prof.base.total))}): <span class="grew">red grew</span>, <span class="shrank">blue shrank</span>`);
    if (CP.prof.filters.length) parts.push('filters: ' + CP.esc(CP.prof.filters.join(' ')));
  }
  if (CP.session.trace) parts.push(`trace <b>${CP.esc(CP.session.trace)}</b>`);
  CP.$('#info').innerHTML = parts.join(' · ');
}

function drawSampleTypes() {
  const sel = CP.$('#sample');
  if (!CP.prof || CP.prof.sampleTypes.length < 2) {
    CP.$('#sample-label').hidden = true;
    return;
  }
  CP.$('#sample-label').hidden = false;
  sel.textContent = '';
  CP.prof.sampleTypes.forEach((t, i) => sel.append(CP.el('option', {value: i, text: `${t.type} (${t.unit})`})));
  sel.value = CP.prof.sampleIndex;
}

async function loadProfile(si) {
  const want = si < 0 ? CP.session.defaultSampleIndex : si;
  if (CP.prof && CP.prof.sampleIndex === want) return;
  CP.status('loading the profile…');
  CP.prof = await CP.fetchJSON('api/profile?si=' + want);
  CP.cache = {};
  drawSampleTypes();
}

CP.siQuery = () => 'si=' + CP.prof.sampleIndex;

/* Renders the state in the URL. */
CP.render = async () => {
  const s = CP.readHash();
  const tabs = tabsFor();
  if (!tabs.includes(s.view)) s.view = tabs[0];
  CP.state = s;
  if (CP.$('#search').value !== s.q) CP.$('#search').value = s.q;
  setSearch(s.q);
  drawTabs(s.view);
  const view = CP.views[s.view];
  const el = CP.$('#view');
  /* The view left behind lets go of its window-wide listeners. */
  if (CP.current && CP.current !== view && CP.current.leave) CP.current.leave();
  CP.current = view;
  CP.tip();
  try {
    if (view.kind === 'profile') await loadProfile(s.si);
    drawInfo();
    CP.status('');
    el.className = 'view-' + s.view;
    await view.render(el, s);
  } catch (e) {
    el.textContent = '';
    el.append(CP.el('p', {class: 'error', text: 'cprof web: ' + e.message}));
    CP.status(e.message, true);
    console.error(e);
  }
  if (!CP.rendered) {
    CP.rendered = true;
    /* For the tests and the performance figures: when the first view was drawn. */
    window.cprofFirstRender = performance.now();
  }
  document.body.dataset.view = s.view;
  document.body.dataset.ready = String(Number(document.body.dataset.ready || 0) + 1);
};

function setSearch(q) {
  const box = CP.$('#search');
  try {
    CP.search = q ? new RegExp(q) : null;
    box.classList.remove('bad');
  } catch (e) {
    CP.search = null;
    box.classList.add('bad');
  }
}

let searchTimer = 0;
function onSearchInput() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    const q = CP.$('#search').value;
    setSearch(q);
    const view = CP.views[CP.state.view];
    CP.state.q = q;
    /* The URL follows without a re-render: views highlight in place. */
    const p = new URLSearchParams(location.hash.slice(1));
    if (q) p.set('q', q); else p.delete('q');
    history.replaceState(null, '', '#' + p.toString());
    if (view && view.search) view.search();
    else if (view) CP.render();
  }, 120);
}

/* A floating tip that follows the mouse (views call CP.tip(e, html) / CP.tip()). */
CP.tip = (ev, html) => {
  const t = CP.$('#tip');
  if (!ev) {
    t.hidden = true;
    return;
  }
  t.innerHTML = html;
  t.hidden = false;
  const w = t.offsetWidth, h = t.offsetHeight;
  let x = ev.clientX + 14, y = ev.clientY + 14;
  if (x + w > window.innerWidth - 4) x = Math.max(4, ev.clientX - w - 14);
  if (y + h > window.innerHeight - 4) y = Math.max(4, ev.clientY - h - 14);
  t.style.left = x + 'px';
  t.style.top = y + 'px';
};

/* A list to pick a function from, for Source and Peek when none is chosen. */
CP.functionPicker = (el, view, title) => {
  const p = CP.prof;
  let ids = [];
  for (let i = 0; i < p.names.length; i++) if ((p.flat[i] || p.cum[i]) && (!CP.search || CP.search.test(p.names[i]))) ids.push(i);
  ids.sort((a, b) => Math.abs(p.flat[b]) - Math.abs(p.flat[a]) || Math.abs(p.cum[b]) - Math.abs(p.cum[a]));
  ids = ids.slice(0, 50);
  el.append(CP.el('p', {class: 'hint', text: title + (CP.search ? ' (matching the search)' : ' (or search for one above)') + ':'}));
  const ul = CP.el('ul', {class: 'picker'});
  for (const i of ids) {
    ul.append(CP.el('li', {}, CP.el('a', {href: '#', 'data-f': i, class: 'fn', text: p.names[i],
      onclick: (e) => { e.preventDefault(); CP.go({view, f: i}); }}), ' ', CP.el('span', {class: 'num', text: CP.fmt(p.flat[i]) + ' flat, ' + CP.fmt(p.cum[i]) + ' cum'})));
  }
  el.append(ul);
};

/* Links from a function to its other views. */
CP.fnLinks = (id) => {
  const span = CP.el('span', {class: 'links'});
  for (const [v, label] of [['source', 'source'], ['peek', 'peek'], ['flame', 'flame']]) {
    span.append(' ', CP.el('a', {href: '#', text: label, onclick: (e) => {
      e.preventDefault();
      if (v === 'flame') CP.go({view: 'flame', q: '^' + CP.name(id).replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$', root: 0, f: -1});
      else CP.go({view: v, f: id});
    }}));
  }
  return span;
};

/* ---- Top ------------------------------------------------------------------------ */

const TOP_MAX_ROWS = 3000;
const topSort = {key: 'flat', desc: true};

CP.views.top = {
  label: 'Top',
  kind: 'profile',
  render(el) {
    el.textContent = '';
    const p = CP.prof, base = !!p.base;
    const cols = [
      ['flat', 'Flat'], ['flatp', 'Flat%'], ['sum', 'Sum%'], ['cum', 'Cum'], ['cump', 'Cum%'], ['name', 'Name'],
    ];
    if (base) cols.splice(5, 0, ['dflat', 'Δ Flat'], ['dcum', 'Δ Cum']);
    const sortable = {flat: 1, flatp: 1, cum: 1, cump: 1, name: 1, dflat: 1, dcum: 1};
    let ids = [];
    for (let i = 0; i < p.names.length; i++) {
      if (!(p.flat[i] || p.cum[i] || (base && (p.baseFlat[i] || p.baseCum[i])))) continue;
      if (CP.search && !CP.search.test(p.names[i])) continue;
      ids.push(i);
    }
    const key = {
      flat: (i) => p.flat[i], flatp: (i) => p.flat[i], cum: (i) => p.cum[i], cump: (i) => p.cum[i],
      dflat: (i) => p.flat[i] - p.baseFlat[i], dcum: (i) => p.cum[i] - p.baseCum[i],
    }[topSort.key];
    if (topSort.key === 'name') ids.sort((a, b) => (p.names[a] < p.names[b] ? -1 : p.names[a] > p.names[b] ? 1 : 0) * (topSort.desc ? -1 : 1));
    else ids.sort((a, b) => (topSort.desc ? key(b) - key(a) : key(a) - key(b)) || (p.names[a] < p.names[b] ? -1 : 1));
    const total = p.profile.total;
    const table = CP.el('table', {class: 'top', id: 'top-table'});
    const hr = CP.el('tr');
    for (const [k, label] of cols) {
      const th = CP.el('th', {'data-key': k, scope: 'col', class: sortable[k] ? 'sortable' : ''}, label);
      if (k === topSort.key) {
        th.setAttribute('aria-sort', topSort.desc ? 'descending' : 'ascending');
        th.append(topSort.desc ? ' ▼' : ' ▲');
      }
      if (sortable[k]) {
        th.tabIndex = 0;
        const sort = () => {
          if (topSort.key === k) topSort.desc = !topSort.desc;
          else { topSort.key = k; topSort.desc = k !== 'name'; }
          CP.views.top.render(el);
        };
        th.addEventListener('click', sort);
        th.addEventListener('keydown', (e) => { if (e.key === 'Enter') sort(); });
      }
      hr.append(th);
    }
    table.append(CP.el('thead', {}, hr));
    const rows = [];
    let sum = 0;
    const n = Math.min(ids.length, TOP_MAX_ROWS);
    for (let r = 0; r < n; r++) {
      const i = ids[r];
      sum += p.flat[i];
      let cells = `<td class="num">${CP.esc(CP.fmt(p.flat[i]))}</td><td class="num">${CP.pct(p.flat[i], total)}</td>` +
        `<td class="num">${CP.pct(sum, total)}</td><td class="num">${CP.esc(CP.fmt(p.cum[i]))}</td><td class="num">${CP.pct(p.cum[i], total)}</td>`;
      if (base) {
        const df = p.flat[i] - p.baseFlat[i], dc = p.cum[i] - p.baseCum[i];
        cells += `<td class="num ${df > 0 ? 'grew' : df < 0 ? 'shrank' : ''}">${df > 0 ? '+' : ''}${CP.esc(CP.fmt(df))}</td>` +
          `<td class="num ${dc > 0 ? 'grew' : dc < 0 ? 'shrank' : ''}">${dc > 0 ? '+' : ''}${CP.esc(CP.fmt(dc))}</td>`;
      }
      cells += `<td class="name"><a href="#view=peek&amp;f=${i}" data-f="${i}" class="fn">${CP.esc(p.names[i])}</a>` +
        ` <a class="lnk" href="#view=source&amp;f=${i}">src</a></td>`;
      rows.push(`<tr data-f="${i}">${cells}</tr>`);
    }
    const tbody = CP.el('tbody');
    tbody.innerHTML = rows.join('');
    table.append(tbody);
    /* Links carry the sample index of the page. */
    tbody.addEventListener('click', (e) => {
      const a = e.target.closest('a');
      if (!a) return;
      e.preventDefault();
      const f = Number(a.closest('tr').dataset.f);
      CP.go({view: a.classList.contains('lnk') ? 'source' : 'peek', f});
    });
    const note = ids.length > n ? ` (the first ${n} shown)` : '';
    el.append(CP.el('p', {class: 'hint', text: `${ids.length} functions${CP.search ? ' matching the search' : ''}${note}. Click a column to sort, a name for its callers and callees.`}), table);
  },
};

/* ---- Source ---------------------------------------------------------------------- */

CP.views.source = {
  label: 'Source',
  kind: 'profile',
  async render(el, s) {
    el.textContent = '';
    if (s.f < 0 || s.f >= CP.prof.names.length) {
      CP.functionPicker(el, 'source', 'Pick a function to see its source lines with their values');
      return;
    }
    const data = await CP.fetchJSON(`api/source?${CP.siQuery()}&f=${s.f}`);
    const name = CP.name(s.f);
    el.append(CP.el('h2', {}, CP.el('span', {class: 'fn', text: name}), CP.fnLinks(s.f)));
    if (!data.groups.length) {
      el.append(CP.el('p', {class: 'hint', text: `No source information for ${name}.`}));
      return;
    }
    const total = CP.prof.profile.total;
    for (const g of data.groups) {
      const sec = CP.el('section', {class: 'routine'});
      sec.append(CP.el('h3', {text: `${name} in ${g.file || '(no file)'}`}),
        CP.el('p', {class: 'num', text: `${CP.fmt(g.flat)} flat, ${CP.fmt(g.cum)} cum (${CP.pct(g.cum, total)} of total)`}));
      if (g.error) sec.append(CP.el('p', {class: 'error', text: g.error}));
      let max = 0;
      for (const l of g.lines) max = Math.max(max, Math.abs(l[2]));
      const rows = g.lines.map(([ln, flat, cum, text]) => {
        const heat = max && cum ? 0.08 + 0.5 * Math.abs(cum) / max : 0;
        const style = heat ? ` style="background:rgba(230,80,30,${heat.toFixed(3)})"` : '';
        return `<tr class="${cum || flat ? 'hot' : ''}"${style}><td class="num">${flat ? CP.esc(CP.fmt(flat)) : '.'}</td>` +
          `<td class="num">${cum ? CP.esc(CP.fmt(cum)) : '.'}</td><td class="ln">${ln}</td>` +
          `<td class="code">${text === null ? '' : CP.esc(text)}</td></tr>`;
      });
      const t = CP.el('table', {class: 'source'});
      t.innerHTML = '<thead><tr><th scope="col">Flat</th><th scope="col">Cum</th><th scope="col">Line</th><th scope="col">Source</th></tr></thead><tbody>' + rows.join('') + '</tbody>';
      sec.append(t);
      el.append(sec);
    }
  },
};

/* ---- Peek ------------------------------------------------------------------------- */

CP.views.peek = {
  label: 'Peek',
  kind: 'profile',
  async render(el, s) {
    el.textContent = '';
    if (s.f < 0 || s.f >= CP.prof.names.length) {
      CP.functionPicker(el, 'peek', 'Pick a function to see its callers and callees');
      return;
    }
    const d = await CP.fetchJSON(`api/peek?${CP.siQuery()}&f=${s.f}`);
    const total = CP.prof.profile.total;
    el.append(CP.el('h2', {}, CP.el('span', {class: 'fn', text: CP.name(s.f)}), CP.fnLinks(s.f)));
    const sumW = (list) => list.reduce((a, e) => a + e[1], 0);
    const t = CP.el('table', {class: 'peek'});
    t.innerHTML = '<thead><tr><th scope="col">Value</th><th scope="col">Share</th><th scope="col">Function</th></tr></thead>';
    const tb = CP.el('tbody');
    const section = (title, list) => {
      tb.append(CP.el('tr', {class: 'sep'}, CP.el('th', {colspan: 3, scope: 'rowgroup', text: title})));
      const w = sumW(list);
      for (const [id, weight, inl] of list) {
        tb.append(CP.el('tr', {}, CP.el('td', {class: 'num', text: CP.fmt(weight)}),
          CP.el('td', {class: 'num', text: CP.pct(weight, w)}),
          CP.el('td', {class: 'name'}, CP.el('a', {href: '#', class: 'fn', 'data-f': id, text: CP.name(id),
            onclick: (e) => { e.preventDefault(); CP.go({view: 'peek', f: id}); }}), inl ? ' (inline)' : '')));
      }
      if (!list.length) tb.append(CP.el('tr', {}, CP.el('td', {colspan: 3, class: 'hint', text: 'none'})));
    };
    section(`Callers of ${CP.name(s.f)}`, d.callers);
    tb.append(CP.el('tr', {class: 'self'}, CP.el('td', {class: 'num', text: CP.fmt(d.cum)}),
      CP.el('td', {class: 'num', text: CP.pct(d.cum, total)}),
      CP.el('td', {class: 'name'}, CP.el('b', {class: 'fn', text: CP.name(s.f)}), ` (flat ${CP.fmt(d.flat)}, ${CP.pct(d.flat, total)})`)));
    section(`Called by ${CP.name(s.f)}`, d.callees);
    t.append(tb);
    el.append(t);
  },
};

/* ---- start ----------------------------------------------------------------------- */

async function boot() {
  try {
    CP.session = await CP.fetchJSON('api/session');
  } catch (e) {
    CP.status('cannot reach cprof web: ' + e.message, true);
    return;
  }
  document.title = 'cprof: ' + [].concat(CP.session.profiles, CP.session.trace ? [CP.session.trace] : []).join(', ');
  CP.$('#search').addEventListener('input', onSearchInput);
  CP.$('#sample').addEventListener('change', (e) => CP.go({si: Number(e.target.value), root: 0}));
  window.addEventListener('hashchange', CP.render);
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      const v = CP.views[CP.state.view];
      if (v && v.resize) v.resize();
    }, 150);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === '/' && document.activeElement !== CP.$('#search')) {
      e.preventDefault();
      CP.$('#search').focus();
    }
  });
  CP.render();
}

document.addEventListener('DOMContentLoaded', boot);
