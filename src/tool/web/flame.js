/*
 * flame.js: the Flame graph view. The call tree comes from the server a
 * subtree at a time (api/flame?root=NODE&px=WIDTH), without the frames too
 * narrow to see; each frame is an absolutely placed <div> holding the
 * function's name as text, so that names are in the DOM and the browser
 * clips them. Root at the top (as pprof's), click to zoom into a frame
 * (it then fills the width), click an ancestor above it to zoom out; the
 * search box highlights matching frames and says what share they hold.
 * With -base, colours say what changed: red grew, blue shrank (as
 * `cprof flame -diff`); otherwise the warm palette of `cprof flame`.
 */
'use strict';

(function () {
  const ROW = 18; // px per frame row
  const MIN_PX = 0.5; // frames narrower than this are not drawn

  let cur = null; // {data, el, depth[], scale}

  function fetchTree(root, px) {
    const key = `flame:${CP.prof.sampleIndex}:${root}:${px}`;
    if (!CP.cache[key]) CP.cache[key] = CP.fetchJSON(`api/flame?${CP.siQuery()}&root=${root}&px=${px}`);
    return CP.cache[key];
  }

  function frameColour(d, i) {
    if (CP.prof.base) return CP.deltaColour(d.value[i] - d.base[i], d.maxDelta);
    return CP.warm(CP.name(d.name[i]));
  }

  function details(d, i, anc) {
    const total = d.total, p = CP.prof;
    let name, value, base, self, bself;
    if (anc !== undefined) {
      const a = d.path[anc];
      [name, value, base] = [CP.name(a[1]), a[2], a[3]];
    } else {
      [name, value, base, self, bself] = [CP.name(d.name[i]), d.value[i], d.base[i], d.self[i], d.bself[i]];
    }
    let html = `<b>${CP.esc(name)}</b><br>${CP.esc(CP.fmt(value))} (${CP.pct(value, total)} of total`;
    if (anc === undefined && d.root) html += `, ${CP.pct(value, d.value[0])} of the zoomed frame`;
    html += ')';
    if (self !== undefined) html += `<br>self ${CP.esc(CP.fmt(self))} (${CP.pct(self, total)})`;
    if (p.base) {
      const delta = value - base;
      html += `<br>base ${CP.esc(CP.fmt(base))} → <span class="${delta > 0 ? 'grew' : delta < 0 ? 'shrank' : ''}">${delta > 0 ? '+' : ''}${CP.esc(CP.fmt(delta))}</span>`;
      if (self !== undefined) html += `, self ${delta > 0 ? '' : ''}${CP.esc(CP.fmt(bself))} → ${CP.esc(CP.fmt(self))}`;
    }
    return html;
  }

  function draw() {
    const {data: d, box} = cur;
    const width = box.clientWidth;
    const n = d.id.length;
    const depth = new Int32Array(n);
    const top = d.path.length;
    const scale = d.value[0] > 0 ? width / d.value[0] : 0;
    const html = [];
    /* The ancestors of the zoomed frame, full width: click one to zoom out to it. */
    for (let k = 0; k < d.path.length; k++) {
      const a = d.path[k];
      html.push(`<div class="fr anc" data-a="${k}" style="left:0;width:${width}px;top:${k * ROW}px">${CP.esc(CP.name(a[1]))}</div>`);
    }
    let maxDepth = 0;
    for (let i = 0; i < n; i++) {
      const dep = i ? depth[d.parent[i]] + 1 : 0;
      depth[i] = dep;
      const w = d.value[i] * scale;
      if (w < MIN_PX) continue;
      if (dep > maxDepth) maxDepth = dep;
      const x = d.x[i] * scale;
      html.push(`<div class="fr${i === 0 && d.root ? ' zoomed' : ''}" data-i="${i}" style="left:${x.toFixed(1)}px;width:${w.toFixed(1)}px;top:${(top + dep) * ROW}px;background:${frameColour(d, i)}">${CP.esc(CP.name(d.name[i]))}</div>`);
    }
    box.style.height = (top + maxDepth + 1) * ROW + 'px';
    box.innerHTML = html.join('');
    cur.depth = depth;
    highlight();
  }

  /* Frames whose name matches get the class "match"; the share is that of
   * the matching frames not under another matching one. */
  function highlight() {
    const {data: d, box, note} = cur;
    const n = d.id.length;
    let matched = 0;
    const under = new Uint8Array(n);
    const hit = new Uint8Array(n);
    if (CP.search) {
      for (let i = 0; i < n; i++) {
        hit[i] = CP.search.test(CP.name(d.name[i])) ? 1 : 0;
        const up = i ? under[d.parent[i]] || hit[d.parent[i]] : 0;
        under[i] = up;
        if (hit[i] && !up) matched += d.value[i];
      }
    }
    for (const f of box.querySelectorAll('.fr[data-i]')) f.classList.toggle('match', !!hit[Number(f.dataset.i)]);
    for (const f of box.querySelectorAll('.fr[data-a]')) f.classList.toggle('match', !!CP.search && CP.search.test(f.textContent));
    box.classList.toggle('searching', !!CP.search);
    note.textContent = CP.search ? `Matched: ${CP.fmt(matched)} (${CP.pct(matched, d.total)} of total)` : '';
  }

  CP.views.flame = {
    label: 'Flame graph',
    kind: 'profile',
    async render(el, s) {
      el.textContent = '';
      const bar = CP.el('div', {class: 'toolbar'});
      const reset = CP.el('button', {id: 'flame-reset', text: 'Reset zoom', onclick: () => CP.go({root: 0})});
      const note = CP.el('span', {id: 'flame-matched', class: 'num'});
      bar.append(reset, ' ', note, CP.el('span', {class: 'hint', text: ' Click a frame to zoom, an ancestor above it to zoom out; hover for details.'}));
      const box = CP.el('div', {id: 'flame', class: 'flame', role: 'tree', 'aria-label': 'Flame graph'});
      el.append(bar, box);
      const px = Math.max(100, Math.round(box.clientWidth || 1000));
      const data = await fetchTree(s.root, px);
      reset.disabled = !data.root;
      cur = {data, el, box, note};
      if (!data.value.length || data.value[0] <= 0) {
        box.append(CP.el('p', {class: 'hint', text: 'No samples to draw' + (CP.prof.base ? ' (the profile has none where the base has some).' : '.')}));
        return;
      }
      draw();
      box.addEventListener('mousemove', (e) => {
        const f = e.target.closest('.fr');
        if (!f) return CP.tip();
        CP.tip(e, f.dataset.a !== undefined ? details(data, 0, Number(f.dataset.a)) : details(data, Number(f.dataset.i)));
      });
      box.addEventListener('mouseleave', () => CP.tip());
      box.addEventListener('click', (e) => {
        const f = e.target.closest('.fr');
        if (!f) return;
        CP.tip();
        if (f.dataset.a !== undefined) {
          const k = Number(f.dataset.a);
          CP.go({root: k === 0 ? 0 : data.path[k][0]});
          return;
        }
        const i = Number(f.dataset.i);
        if (i === 0 && data.root) {
          /* The zoomed frame itself: one level up. */
          CP.go({root: data.path.length > 1 ? data.path[data.path.length - 1][0] : 0});
          return;
        }
        CP.go({root: data.id[i]});
      });
    },
    search() {
      if (cur) highlight();
    },
    resize() {
      if (cur) CP.render();
    },
  };
})();
