/*
 * web-test.js: the web UI in a real headless Chromium (Debian's), driven
 * over the DevTools protocol by cdp.js. One scenario per ctest (tests/web.cmake):
 *
 *   node web-test.js profile   golden and listing profiles (test-pprof-write):
 *                              each view shows the right functions, a click
 *                              on a frame zooms, search highlights, Top sorts
 *                              by a clicked column, Graph and Peek, Source
 *                              shows per-line values when the source exists
 *   node web-test.js diff      -base: differential colours in the flame graph, deltas in Top
 *   node web-test.js run       a profile and a trace made by `cprof run` on web_prog:
 *                              the profile views, the timeline's regions and
 *                              tasks by name, a selection and its summary
 *   node web-test.js trace     trace_gt's trace: the timeline's regions, zoom
 *                              and pan, and the summary tables agree with
 *                              `cprof trace summary`
 *   node web-test.js perf      a 100,000-sample profile and a million-event
 *                              trace: time to first render, time per frame
 *
 * Environment (from ctest): CPROF, CPROF_TEST_BIN, CPROF_SOURCE_DIR.
 * Exit 0 on success, 1 on failure, 77 when no Chromium is installed.
 * CPROF_TEST_KEEP=1 keeps the scratch directory (with screenshots of failures).
 */
'use strict';

const {spawn, execFileSync} = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const {Browser, findChromium} = require('./cdp.js');

const CPROF = process.env.CPROF;
const BIN = process.env.CPROF_TEST_BIN;
const SRC = process.env.CPROF_SOURCE_DIR;

let passed = 0, failed = 0;
const T = fs.mkdtempSync(path.join(os.tmpdir(), 'cprof-web-test-'));
const servers = [];

function ok(cond, what, detail) {
  if (cond) {
    passed++;
    console.log('ok - ' + what);
  } else {
    failed++;
    console.log('FAIL - ' + what + (detail !== undefined ? ': ' + JSON.stringify(detail) : ''));
  }
  return cond;
}

function need(cond, what, detail) {
  if (!ok(cond, what, detail)) throw new Error('cannot go on after: ' + what);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/* Waits for the page's next frame (the timeline draws in requestAnimationFrame). */
const frame = (page) => page.eval('new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))');

function run(cmd, args, opts) {
  return execFileSync(cmd, args, Object.assign({encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120000}, opts || {}));
}

/* Starts `cprof web -http=127.0.0.1:0 ARGS` and waits for its URL. */
function startServer(args) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    /* In the scratch directory: where a user would run it, not under the build tree. */
    const proc = spawn(CPROF, ['web', '-http=127.0.0.1:0'].concat(args), {stdio: ['ignore', 'pipe', 'pipe'], cwd: T});
    const srv = {proc, out: '', err: ''};
    servers.push(srv);
    const timer = setTimeout(() => reject(new Error('cprof web did not start in 120 s: ' + srv.err)), 120000);
    proc.stderr.on('data', (d) => { srv.err += d; });
    proc.stdout.on('data', (d) => {
      srv.out += d;
      const m = /serving (http:\/\/127\.0\.0\.1:\d+\/)/.exec(srv.out);
      if (m && !srv.url) {
        srv.url = m[1];
        srv.startMs = Date.now() - t0;
        clearTimeout(timer);
        resolve(srv);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (!srv.url) reject(new Error(`cprof web exited with ${code}: ${srv.err}`));
    });
  });
}

function stopServer(srv) {
  return new Promise((resolve) => {
    if (srv.proc.exitCode !== null) return resolve(srv.proc.exitCode);
    srv.proc.on('exit', (code, sig) => resolve(code === null ? sig : code));
    srv.proc.kill('SIGTERM');
  });
}

/* ---- page helpers --------------------------------------------------------------- */

/* Opens a fragment of the UI and waits until its view has rendered. */
async function open(page, srv, hash) {
  await page.goto('about:blank');
  await page.goto(srv.url + hash);
  await page.rendered(0, 60000);
}

/* Navigates within the page (a click or a hash change) and waits for the re-render. */
async function after(page, action) {
  const n = await page.readyCount();
  await action();
  await page.rendered(n, 60000);
}

const texts = (page, sel) => page.eval(`[...document.querySelectorAll(${JSON.stringify(sel)})].map((e) => e.textContent.trim())`);

/* The selector of the first flame frame (not an ancestor) named name. */
async function frameSel(page, name) {
  const i = await page.eval(`(() => { const f = [...document.querySelectorAll('#flame .fr[data-i]')].find((e) => e.textContent === ${JSON.stringify(name)}); return f ? f.dataset.i : null; })()`);
  return i === null ? null : `#flame .fr[data-i="${i}"]`;
}

async function clickTab(page, view) {
  await after(page, () => page.click(`#tabs button[data-view="${view}"]`));
  ok(await page.eval('document.body.dataset.view') === view, `the ${view} tab opens its view`);
}

async function topNames(page) {
  return texts(page, '#top-table tbody td.name a.fn');
}

function noErrors(page, what) {
  ok(page.errors.length === 0, `no errors in the page (${what})`, page.errors);
  page.errors.length = 0;
}

async function shot(page, name) {
  if (process.env.CPROF_TEST_KEEP) await page.screenshot(path.join(T, name + '.png')).catch(() => {});
}

/* ---- scenarios -------------------------------------------------------------------- */

async function scenarioProfile(browser) {
  run(path.join(BIN, 'test-pprof-write'), ['golden', path.join(T, 'golden.pb.gz')]);
  const srv = await startServer([path.join(T, 'golden.pb.gz')]);
  const page = await browser.newPage();

  /* Flame graph: the golden profile's functions, as frames with their names as text. */
  await open(page, srv, '#view=flame');
  const names = await texts(page, '#flame .fr');
  for (const f of ['root', 'main', 'work', 'hot', 'helper', 'rec']) ok(names.includes(f), `flame graph has a frame "${f}"`, names);
  ok(names.filter((n) => n === 'rec').length === 3, 'rec recursing three deep is three frames', names);
  const width = await page.eval('document.getElementById("flame").clientWidth');
  const hot = await page.point(await frameSel(page, 'hot'));
  ok(Math.abs(hot.w / width - 0.6) < 0.01, 'hot is 60% of the width (1.50s of 2.50s)', hot.w / width);
  await page.hover(await frameSel(page, 'hot'));
  const tip = await page.eval('document.getElementById("tip").hidden ? "" : document.getElementById("tip").textContent');
  ok(/hot/.test(tip) && /1\.50s/.test(tip) && /60\.00%/.test(tip), 'hovering hot shows its name, value and share', tip);

  /* Click "work": it fills the width; what is under it stays, the rest goes. */
  const workSel = await frameSel(page, 'work');
  await after(page, () => page.click(workSel));
  await shot(page, 'profile-zoomed');
  const zoomed = await page.eval(`(() => { const z = document.querySelector('#flame .fr.zoomed'); return z ? {name: z.textContent, w: z.getBoundingClientRect().width, W: document.getElementById('flame').clientWidth} : null; })()`);
  need(zoomed, 'clicking a frame zooms into it');
  ok(zoomed.name === 'work', 'the zoomed frame is work', zoomed);
  ok(Math.abs(zoomed.w - zoomed.W) <= 2, 'the zoomed frame fills the width', zoomed);
  const inZoom = await texts(page, '#flame .fr[data-i]');
  ok(inZoom.includes('hot') && inZoom.includes('helper') && !inZoom.includes('rec'), 'the zoomed graph holds work\'s callees only', inZoom);
  const hot2 = await page.point(await frameSel(page, 'hot'));
  ok(Math.abs(hot2.w / zoomed.W - 150 / 201) < 0.01, 'hot is now 150/201 of the width', hot2.w / zoomed.W);
  ok(/root=\d+/.test(await page.eval('location.hash')), 'the zoom is in the URL');
  await after(page, () => page.click('#flame .fr.anc[data-a="0"]'));
  ok(await page.eval('document.querySelector("#flame .fr.zoomed") === null'), 'clicking the root above zooms out');

  /* Search highlights the matching frames and says their share. */
  await page.type('#search', '^h');
  await page.waitFor('document.querySelectorAll("#flame .fr.match").length > 0', 5000, 'highlighted frames');
  const matched = await texts(page, '#flame .fr.match');
  ok(matched.sort().join(',') === 'helper,hot', 'search "^h" highlights hot and helper', matched);
  const share = await page.eval('document.getElementById("flame-matched").textContent');
  ok(/2s/.test(share) && /80\.00%/.test(share), 'the search says what it matched: 2s, 80%', share);
  await page.type('#search', '');
  await page.waitFor('document.querySelectorAll("#flame .fr.match").length === 0', 5000, 'highlights cleared');

  /* Top: sorted by flat; a click on a column sorts by it. */
  await clickTab(page, 'top');
  let rows = await topNames(page);
  ok(rows.join(',') === 'hot,helper,rec,[golden],main,tiny,work', 'Top is sorted by flat', rows);
  await page.click('#top-table th[data-key="name"]');
  await page.waitFor('document.querySelector("#top-table th[data-key=name]").getAttribute("aria-sort") === "ascending"', 5000);
  rows = await topNames(page);
  ok(rows.join(',') === [...rows].sort().join(','), 'clicking Name sorts by name', rows);
  await page.click('#top-table th[data-key="cum"]');
  await page.waitFor('document.querySelector("#top-table th[data-key=cum]").getAttribute("aria-sort") === "descending"', 5000);
  rows = await topNames(page);
  ok(rows[0] === 'main' && rows[1] === 'work' && rows[2] === 'hot', 'clicking Cum sorts by cum, largest first', rows);
  await page.click('#top-table th[data-key="cum"]');
  await page.waitFor('document.querySelector("#top-table th[data-key=cum]").getAttribute("aria-sort") === "ascending"', 5000);
  rows = await topNames(page);
  ok(rows[0] === 'tiny' && rows[rows.length - 1] === 'main', 'clicking Cum again sorts smallest first', rows);
  const hotRow = await page.eval(`[...document.querySelectorAll('#top-table tbody tr')].map((r) => [...r.cells].map((c) => c.textContent.trim())).find((c) => c[5].startsWith('hot'))`);
  ok(hotRow && hotRow[0] === '1.50s' && hotRow[1] === '60.00%' && hotRow[3] === '1.50s', 'Top\'s row for hot: 1.50s 60.00% ... 1.50s', hotRow);

  /* Graph: the functions as SVG text; a click on a node opens Peek. */
  await clickTab(page, 'graph');
  const gnames = await texts(page, 'svg.graph .node text.fname');
  for (const f of ['main', 'work', 'hot', 'helper', 'rec']) ok(gnames.includes(f), `the graph has a node "${f}"`, gnames);
  ok(await page.eval('document.querySelectorAll("svg.graph path.edge").length') >= 4, 'the graph has its call edges');
  await page.type('#search', 'work');
  await page.waitFor('document.querySelectorAll("svg.graph .node.match").length === 1', 5000, 'the graph highlights work');
  await page.type('#search', '');
  await after(page, () => page.click('svg.graph .node[data-f] rect', 0.5, 0.5));
  ok(await page.eval('document.body.dataset.view') === 'peek', 'clicking a graph node opens Peek');

  /* Peek of work: main calls it; it calls hot, helper (inlined) and tiny. */
  await open(page, srv, '#view=top');
  const workId = await page.eval('CP.prof.names.indexOf("work")');
  await after(page, () => page.click(`#top-table tbody tr[data-f="${workId}"] a.fn`));
  const peek = await page.eval(`[...document.querySelectorAll('table.peek tbody tr')].map((r) => [...r.cells].map((c) => c.textContent.trim()).join(' '))`);
  const iSelf = peek.findIndex((r) => /^2\.01s 80\.40% work/.test(r));
  ok(iSelf > 0, 'Peek shows work with its cum', peek);
  ok(peek.slice(0, iSelf).some((r) => /2\.01s 100\.00% main/.test(r)), 'Peek: main calls work', peek);
  const callees = peek.slice(iSelf + 1).join('|');
  ok(/1\.50s 74\.63% hot/.test(callees) && /500ms 24\.88% helper \(inline\)/.test(callees) && /tiny/.test(callees), 'Peek: work calls hot, helper (inline) and tiny', callees);
  noErrors(page, 'golden');
  await stopServer(srv);

  /* Source: per-line values next to the text, when the file is found. */
  run(path.join(BIN, 'test-pprof-write'), ['listing', path.join(T, 'listing.pb.gz')]);
  fs.mkdirSync(path.join(T, 'src'), {recursive: true});
  const lines = [];
  for (let i = 1; i <= 40; i++) lines.push(i === 8 ? '    total += a[i]; /* line 8 */' : i === 9 ? '    total *= 2; /* line 9 */' : `/* listing line ${i} */`);
  fs.writeFileSync(path.join(T, 'src', 'listing.c'), lines.join('\n') + '\n');
  const srv2 = await startServer(['-source_path=' + T, '-trim_path=/build/project', path.join(T, 'listing.pb.gz')]);
  await open(page, srv2, '#view=top');
  const sumId = await page.eval('CP.prof.names.indexOf("sum")');
  await after(page, () => page.click(`#top-table tbody tr[data-f="${sumId}"] a.lnk`));
  ok(await page.eval('document.body.dataset.view') === 'source', 'the src link opens Source');
  const src = await page.eval(`[...document.querySelectorAll('table.source tbody tr')].map((r) => [...r.cells].map((c) => c.textContent))`);
  const l8 = src.find((r) => r[2] === '8'), l9 = src.find((r) => r[2] === '9'), l7 = src.find((r) => r[2] === '7');
  ok(l8 && l8[0] === '400ms' && l8[1] === '400ms' && /line 8/.test(l8[3]), 'Source: line 8 of sum has 400ms, with its text', l8);
  ok(l9 && l9[0] === '300ms' && /line 9/.test(l9[3]), 'Source: line 9 of sum has 300ms', l9);
  ok(l7 && l7[0] === '.' && l7[1] === '.', 'Source: line 7 has no samples', l7);
  /* The same lines and values as `cprof list` prints. */
  const list = run(CPROF, ['list', '-source_path=' + T, '-trim_path=/build/project', '^sum$', path.join(T, 'listing.pb.gz')]);
  const want = list.split('\n').map((l) => /^\s*(\S+)\s+(\S+)\s+(\d+):(.*)$/.exec(l)).filter(Boolean).map((m) => [m[1], m[2], m[3], m[4]]);
  ok(want.length > 0 && JSON.stringify(want) === JSON.stringify(src), 'Source shows the lines and values of cprof list', {want, got: src});
  const h3 = await page.eval('document.querySelector("section.routine h3").textContent');
  ok(h3 === 'sum in src/listing.c', 'Source names the function and its file as cprof list does', h3);
  /* A function whose file is not there says so. */
  const nofileId = await page.eval('CP.prof.names.indexOf("nofile")');
  await open(page, srv2, '#view=source&f=' + nofileId);
  ok(/No source|no source file/i.test(await page.eval('document.getElementById("view").textContent')), 'Source says when a function has no file');
  noErrors(page, 'listing');
  await stopServer(srv2);
}

async function scenarioDiff(browser) {
  run(path.join(BIN, 'test-pprof-write'), ['golden', path.join(T, 'golden.pb.gz')]);
  run(path.join(BIN, 'test-pprof-write'), ['golden-hot2x', path.join(T, 'hot2x.pb.gz')]);
  const page = await browser.newPage();
  const colour = (name) => page.eval(`(() => { const f = [...document.querySelectorAll('#flame .fr[data-i]')].find((e) => e.textContent === ${JSON.stringify(name)}); return f ? getComputedStyle(f).backgroundColor : null; })()`);
  const rgb = (s) => (s || '').match(/\d+/g).map(Number);
  for (const [newer, base, grew] of [['hot2x.pb.gz', 'golden.pb.gz', true], ['golden.pb.gz', 'hot2x.pb.gz', false]]) {
    const srv = await startServer(['-base=' + path.join(T, base), path.join(T, newer)]);
    await open(page, srv, '#view=flame');
    const [r, g, b] = rgb(await colour('hot'));
    if (grew) ok(r === 255 && g < 100 && b < 100, 'with -base, hot (doubled) is deep red', [r, g, b]);
    else ok(b === 255 && r < 100 && g < 100, 'with -base the other way, hot (halved) is deep blue', [r, g, b]);
    const rec = rgb(await colour('rec'));
    ok(rec.join() === '250,250,250', 'an unchanged function (rec) is white', rec);
    const work = rgb(await colour('work'));
    ok(grew ? work[0] === 255 && work[1] < 250 : work[2] === 255 && work[0] < 250, 'work, which holds hot, shows the change too', work);
    const info = await page.eval('document.getElementById("info").textContent');
    ok(info.includes('base ' + path.join(T, base)) && /red grew/.test(info), 'the header names the base and the colours', info);
    await page.hover(await frameSel(page, 'hot'));
    const tip = await page.eval('document.getElementById("tip").textContent');
    ok(grew ? /base 1\.50s → \+1\.50s/.test(tip) : /base 3s → -1\.50s/.test(tip), 'hovering hot shows the base value and the change', tip);
    await clickTab(page, 'top');
    const hotRow = await page.eval(`[...document.querySelectorAll('#top-table tbody tr')].map((r) => [...r.cells].map((c) => c.textContent.trim())).find((c) => c[7].startsWith('hot'))`);
    ok(hotRow && hotRow[5] === (grew ? '+1.50s' : '-1.50s'), 'Top has the change of hot\'s flat', hotRow);
    await page.click('#top-table th[data-key="dflat"]');
    await page.waitFor('document.querySelector("#top-table th[data-key=dflat]").getAttribute("aria-sort") === "descending"', 5000);
    const first = (await topNames(page))[0];
    ok(grew ? first === 'hot' : first !== 'hot', 'sorting by Δ Flat puts the largest growth first', first);
    noErrors(page, 'diff');
    await stopServer(srv);
  }
}

/* Drags across the timeline's rows from fraction a to b of the canvas's width. */
async function selectRange(page, a, b) {
  const c = await page.point('.tl-canvas', 0, 0);
  const y = c.y + Math.min(40, c.h / 3);
  await page.drag(c.x + c.w * a, y, c.x + c.w * b, y);
  await page.waitFor('document.getElementById("selection-title") !== null', 10000, 'the selection summary');
}

/* The labels of the timeline seen zoomed into each eighth of the trace in
 * turn (select it, "Zoom to selection"), by span: name → how many spans. */
async function labelsBySlices(page, slices = 8) {
  const seen = new Map();
  for (let k = 0; k < slices; k++) {
    await page.click('.toolbar button:nth-of-type(3)'); // Fit
    await frame(page);
    await selectRange(page, 0.01 + 0.98 * k / slices, 0.01 + 0.98 * (k + 1) / slices);
    await page.click('#selection-title button');
    await frame(page);
    for (const [i, name] of await page.eval('[...document.querySelectorAll(".tl-span")].map((e) => [e.dataset.s, e.textContent])')) seen.set(i, name);
  }
  await page.click('.toolbar button:nth-of-type(3)');
  await frame(page);
  const count = new Map();
  for (const name of seen.values()) count.set(name, (count.get(name) || 0) + 1);
  return count;
}

const tableRows = (page, sel) => page.eval(`[...document.querySelectorAll(${JSON.stringify(sel + ' tbody tr')})].map((r) => [...r.cells].map((c) => c.textContent.trim()))`);

async function scenarioRun(browser) {
  const cpu = path.join(T, 'cpu.pb.gz'), trace = path.join(T, 'run.cpt');
  run(CPROF, ['run', '-cpuprofile=' + cpu, '-trace=' + trace, '--', path.join(BIN, 'web_prog'), '4'], {cwd: T});
  need(fs.existsSync(cpu) && fs.existsSync(trace), 'cprof run wrote a profile and a trace');
  const srv = await startServer([cpu, trace]);
  const page = await browser.newPage();

  /* The profile's views. */
  await open(page, srv, '#view=top');
  const tabs = await texts(page, '#tabs button');
  ok(['Flame graph', 'Top', 'Graph', 'Source', 'Peek', 'Timeline', 'Trace summary'].every((t) => tabs.includes(t)), 'a profile and a trace together: every tab', tabs);
  const rows = await topNames(page);
  ok(rows.includes('burn_alpha') && rows.includes('burn_beta') && rows.includes('main'), 'Top lists burn_alpha, burn_beta and main', rows);
  const split = await page.eval('(() => { const p = CP.prof, a = p.names.indexOf("burn_alpha"), b = p.names.indexOf("burn_beta"); return [p.flat[a], p.flat[b], p.profile.total]; })()');
  ok(split[0] > split[1] * 1.3 && split[0] + split[1] > split[2] * 0.8, 'burn_alpha (100 ms a round) holds more than burn_beta (50 ms)', split);
  const alphaId = await page.eval('CP.prof.names.indexOf("burn_alpha")');
  await after(page, () => page.click(`#top-table tbody tr[data-f="${alphaId}"] a.lnk`));
  const src = await page.eval(`[...document.querySelectorAll('table.source tbody tr')].map((r) => [...r.cells].map((c) => c.textContent))`);
  const hotLines = src.filter((r) => r[0] !== '.' || r[1] !== '.');
  ok(src.some((r) => /the alpha loop/.test(r[3])), 'Source shows burn_alpha\'s text from web_prog.c', src.length);
  ok(hotLines.length > 0 && hotLines.every((r) => /burn_alpha|until|while|for|x \+=|alpha|sink|^\s*}?\s*$|thread_cpu_ms/.test(r[3])), 'the lines with values are burn_alpha\'s', hotLines);
  await clickTab(page, 'flame');
  const fr = await texts(page, '#flame .fr');
  ok(fr.includes('burn_alpha') && fr.includes('burn_beta') && fr.includes('main'), 'the flame graph has burn_alpha and burn_beta under main', fr);
  noErrors(page, 'run: profile');

  /* The timeline: the regions and the task by name, over the canvas. */
  await clickTab(page, 'timeline');
  await shot(page, 'run-timeline');
  const spans = await texts(page, '.tl-span');
  ok(spans.includes('web-parse') && spans.includes('web-request'), 'the whole timeline labels web-parse regions and web-request tasks', spans);
  const seen = await labelsBySlices(page);
  ok(seen.get('web-parse') === 4 && seen.get('web-render') === 4, 'zoomed in, the timeline labels the 4 web-parse and 4 web-render regions', [...seen]);
  ok(seen.get('web-request') === 4, 'zoomed in, the timeline labels the 4 web-request tasks', [...seen]);
  const labels = await texts(page, '.tl-row-label');
  ok(labels.includes('Tasks') && labels.some((l) => /web_prog \(\d+\)/.test(l)), 'the rows are named: Tasks, and the thread web_prog', labels);

  /* Click a region: it is selected and described. */
  const parse = await page.point('.tl-span.k2');
  await page.clickAt(parse.x, parse.y);
  await page.waitFor('document.querySelector(".span-details") !== null', 10000, 'the span details');
  const det = await page.eval('document.querySelector(".span-details").textContent');
  ok(/web-(parse|render)/.test(det) && /region/.test(det) && /in task web-request/.test(det), 'clicking a region describes it, with its task', det);

  /* A selection of everything: its summary counts the regions, the tasks and the samples. */
  await selectRange(page, 0.005, 0.995);
  const title = await page.eval('document.getElementById("selection-title").textContent');
  ok(/^Selection: /.test(title), 'dragging across the rows selects a range', title);
  const reg = await tableRows(page, '#selection table.regions');
  const count = (t, n) => (t.find((r) => r[0] === n) || [])[1];
  ok(count(reg, 'web-parse') === '4' && count(reg, 'web-render') === '4', 'the selection\'s regions: web-parse 4, web-render 4', reg);
  ok(count(await tableRows(page, '#selection table.tasks'), 'web-request') === '4', 'the selection\'s tasks: web-request 4');
  const cpuRows = await tableRows(page, '#selection table.cpu');
  ok(cpuRows.length && cpuRows[0][0] === 'burn_alpha', 'the selection\'s CPU samples: burn_alpha first', cpuRows);
  const th = await tableRows(page, '#selection table.threads');
  ok(th.some((r) => r[1] === 'web_prog'), 'the selection\'s threads include web_prog', th);
  /* A narrower selection holds fewer. */
  await selectRange(page, 0.005, 0.3);
  const reg2 = await tableRows(page, '#selection table.regions');
  ok(Number(count(reg2, 'web-parse') || 0) < 4, 'a selection of the first third holds fewer web-parse regions', reg2);

  /* The trace summary's tables. */
  await clickTab(page, 'summary');
  const sreg = await tableRows(page, 'table.regions'), stask = await tableRows(page, 'table.tasks');
  ok(count(sreg, 'web-parse') === '4' && count(sreg, 'web-render') === '4' && count(stask, 'web-request') === '4', 'Trace summary: regions and tasks counted', [sreg, stask]);
  ok(count(await tableRows(page, 'table.logcats'), 'web') === '1', 'Trace summary: one log in category web');
  noErrors(page, 'run: trace');
  await stopServer(srv);
}

async function scenarioTrace(browser) {
  const trace = path.join(T, 'gt.cpt');
  run(path.join(BIN, 'trace_gt'), ['main', trace], {cwd: T});
  const summary = run(CPROF, ['trace', 'summary', trace]);
  const section = (name) => {
    const out = new Map();
    const lines = summary.split('\n');
    let on = false;
    for (const l of lines) {
      if (/^[A-Z]/.test(l)) { on = l === name + ':'; continue; }
      const m = /^ {2}(\S+)\s+(\d+)(\s|$)/.exec(l);
      if (on && m && m[1] !== 'NAME' && m[1] !== 'CATEGORY') out.set(m[1], m[2]);
    }
    return out;
  };
  const srv = await startServer([trace]);
  const page = await browser.newPage();
  await open(page, srv, '');
  ok(await page.eval('document.body.dataset.view') === 'timeline', 'a trace alone opens on the Timeline');
  const spans = await texts(page, '.tl-span');
  for (const n of ['handle', 'parse', 'request']) ok(spans.includes(n), `the whole timeline labels "${n}"`, [...new Set(spans)]);
  /* Zoomed in, every region and task by name, as many as the summary counts. */
  const seen = await labelsBySlices(page);
  for (const sec of ['Tasks', 'Regions']) {
    for (const [name, n] of section(sec)) ok(seen.get(name) === Number(n), `zoomed in, the timeline labels the ${n} ${name} ${sec.toLowerCase()}`, [...seen]);
  }
  ok(seen.get('mutex') >= 1 && seen.get('cond') >= 1, 'zoomed in, the timeline labels the long waits (mutex, cond)', [...seen]);
  /* Zoom in with the keyboard, at the centre; then pan; then fit. */
  const range0 = await page.eval('document.querySelector(".tl-range").textContent');
  const shown = (s) => { const m = /\(([\d.]+)(ns|us|ms|s) shown\)/.exec(s); return m ? Number(m[1]) * {ns: 1, us: 1e3, ms: 1e6, s: 1e9}[m[2]] : NaN; };
  await page.click('.tl-scroll', 0.9, 0.02).catch(() => {});
  for (let i = 0; i < 4; i++) await page.key('w', 'KeyW');
  await frame(page);
  const range1 = await page.eval('document.querySelector(".tl-range").textContent');
  ok(shown(range1) < shown(range0) * 0.3, 'W zooms in', [range0, range1]);
  await page.key('d', 'KeyD');
  await frame(page);
  const range2 = await page.eval('document.querySelector(".tl-range").textContent');
  ok(range2 !== range1 && Math.abs(shown(range2) - shown(range1)) / shown(range1) < 0.02, 'D pans, keeping the zoom', [range1, range2]);
  const a = await page.point('.tl-axis', 0.6, 0.5);
  await page.drag(a.x, a.y, a.x - 200, a.y);
  await frame(page);
  ok(await page.eval('document.querySelector(".tl-range").textContent') !== range2, 'dragging the time axis pans');
  /* Ctrl+wheel zooms at the mouse. */
  const c = await page.point('.tl-canvas', 0.5, 0.1);
  await page.send('Input.dispatchMouseEvent', {type: 'mouseWheel', x: c.x, y: c.y, deltaX: 0, deltaY: 400, modifiers: 2});
  await frame(page);
  const range3 = await page.eval('document.querySelector(".tl-range").textContent');
  ok(shown(range3) > shown(range2) * 1.5, 'Ctrl+wheel zooms out', [range2, range3]);
  await page.click('.toolbar button:nth-of-type(3)');
  await frame(page);
  ok(Math.abs(shown(await page.eval('document.querySelector(".tl-range").textContent')) - shown(range0)) / shown(range0) < 0.02, 'Fit shows the whole trace again');

  /* Summary tables: the same counts as `cprof trace summary`. */
  await clickTab(page, 'summary');
  for (const [sec, cls] of [['Tasks', 'tasks'], ['Regions', 'regions'], ['Logs by category', 'logcats']]) {
    const want = section(sec);
    const got = new Map((await tableRows(page, 'table.' + cls)).map((r) => [r[0], r[1]]));
    ok(want.size > 0 && [...want].every(([k, v]) => got.get(k) === v) && got.size === want.size, `Trace summary's ${sec} agree with cprof trace summary`, {want: [...want], got: [...got]});
  }
  const thWeb = await tableRows(page, 'table.threads');
  const tids = summary.split('\n').map((l) => /^ {2,}(\d+) {2}/.exec(l)).filter(Boolean).map((m) => m[1]);
  ok(tids.length > 0 && tids.every((t) => thWeb.some((r) => r[0] === t)), 'Trace summary lists every thread of cprof trace summary', {tids, web: thWeb.map((r) => r[0])});
  /* Running/sync per thread: as the text report (same rounding). */
  const textRows = new Map(summary.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => /^\d+$/.test(f[0]) && f.length >= 9).map((f) => [f[0], f]));
  const same = thWeb.filter((r) => textRows.has(r[0])).every((r) => { const f = textRows.get(r[0]); return r[3] === f[3] && r[4] === f[4] && r[5] === f[5]; });
  ok(same, 'per thread, lifetime, running and sync as cprof trace summary prints them', {web: thWeb, text: [...textRows.values()]});
  noErrors(page, 'trace_gt');
  await stopServer(srv);
}

async function scenarioPerf(browser) {
  const prof = path.join(T, 'large.pb.gz'), trace = path.join(T, 'million.cpt');
  run(path.join(BIN, 'test-pprof-write'), ['large', prof]);
  console.log('# ' + run(path.join(BIN, 'web_gen'), ['trace', trace, '1000000', '8']).trim());
  const figures = [];
  const page = await browser.newPage();
  /* The server's CPU time so far (user + system), ms: a figure the machine's load does not inflate. */
  const cpuMs = (srv) => {
    const f = fs.readFileSync(`/proc/${srv.proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms (USER_HZ 100)
  };
  for (const [what, files, hash, check] of [
    ['100,000-sample profile, Flame graph', [prof], '#view=flame', '#flame .fr'],
    ['100,000-sample profile, Top', [prof], '#view=top', '#top-table tbody tr'],
    ['million-event trace, Timeline', [trace], '#view=timeline', '.tl-row-label'],
  ]) {
    const srv = await startServer(files);
    const t0 = Date.now();
    await open(page, srv, hash);
    const wall = Date.now() - t0;
    const first = await page.eval('window.cprofFirstRender');
    const cpu = cpuMs(srv);
    const n = await page.eval(`document.querySelectorAll(${JSON.stringify(check)}).length`);
    ok(n > 0, `${what}: drawn, names in the DOM (${n} elements)`);
    let frame = '';
    if (hash === '#view=timeline') {
      /* Responsiveness: time per redraw while panning and zooming, all threads in view. */
      const ms = await page.eval(`(async () => { const k = ['d', 'd', 'w', 'a', 's', 'd', 'w', 'w', 'a', 's', 's', 'd'];
        const t0 = performance.now();
        for (const key of k) { document.dispatchEvent(new KeyboardEvent('keydown', {key})); await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))); }
        return (performance.now() - t0) / k.length; })()`);
      frame = `, ${ms.toFixed(1)} ms per pan/zoom frame at full view`;
      ok(ms < 1000, `${what}: a pan or zoom redraws in under a second`, ms);
      /* Zoomed in to a millisecond or so, the regions have their names. */
      await page.eval(`(async () => { for (let i = 0; i < 19; i++) { document.dispatchEvent(new KeyboardEvent('keydown', {key: 'w'})); await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))); } })()`);
      const spans = await texts(page, '.tl-span');
      ok(spans.includes('handle') && spans.includes('request'), `${what}: zoomed in, regions and tasks have their names in the DOM`, [...new Set(spans)]);
    }
    const line = `${what}: server ready ${srv.startMs} ms after start; page first render ${first.toFixed(0)} ms after navigation (${wall} ms to load and draw); server CPU by then ${cpu} ms${frame}`;
    figures.push(line);
    ok(first < 60000, `${what}: first render within a minute`, first);
    console.log('# ' + line);
    noErrors(page, what);
    await stopServer(srv);
  }
  /* Both in one session, then switching views. */
  const srv = await startServer([prof, trace]);
  await open(page, srv, '#view=flame');
  const t0 = Date.now();
  await after(page, () => page.click('#tabs button[data-view="timeline"]'));
  const sw = Date.now() - t0;
  const t1 = Date.now();
  await after(page, () => page.click('#tabs button[data-view="summary"]'));
  const sum = Date.now() - t1;
  figures.push(`profile and trace together: switching to the Timeline ${sw} ms, to the Trace summary (tables over every span) ${sum} ms`);
  console.log('# ' + figures[figures.length - 1]);
  noErrors(page, 'both');
  await stopServer(srv);
  if (process.env.CPROF_WEB_PERF_OUT) fs.writeFileSync(process.env.CPROF_WEB_PERF_OUT, figures.join('\n') + '\n');
}

/* ---- main ------------------------------------------------------------------------------ */

async function main() {
  const which = process.argv[2];
  const scenarios = {profile: scenarioProfile, diff: scenarioDiff, run: scenarioRun, trace: scenarioTrace, perf: scenarioPerf};
  if (!scenarios[which]) {
    console.error('usage: node web-test.js ' + Object.keys(scenarios).join('|'));
    return 2;
  }
  if (!CPROF || !BIN || !SRC) {
    console.error('web-test: run this under ctest (CPROF, CPROF_TEST_BIN, CPROF_SOURCE_DIR)');
    return 2;
  }
  if (!findChromium()) {
    console.log('SKIP: no chromium (scripts/setup.sh installs it)');
    return 77;
  }
  const browser = Browser.launch({tmp: T});
  try {
    await scenarios[which](browser);
  } catch (e) {
    failed++;
    console.log('FAIL - ' + (e.stack || e.message));
    if (process.env.CPROF_TEST_KEEP) console.log('# chromium: ' + browser.stderr.slice(-1500));
  } finally {
    for (const s of servers) await stopServer(s);
    await browser.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  if (process.env.CPROF_TEST_KEEP) console.log('# kept ' + T);
  else fs.rmSync(T, {recursive: true, force: true});
  return failed ? 1 : 0;
}

main().then((rc) => process.exit(rc), (e) => { console.error(e); process.exit(1); });
