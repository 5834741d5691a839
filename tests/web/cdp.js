/*
 * cdp.js: a small driver for headless Chromium over the DevTools protocol,
 * for the web UI's tests. No npm package: Chromium is started with
 * --remote-debugging-pipe, which speaks the protocol as NUL-separated JSON
 * on file descriptors 3 (to the browser) and 4 (from it), so that Node's
 * child_process is all it takes. Clicks, drags and keys are real input
 * events (Input.dispatch*), not DOM calls, so they go through hit-testing
 * and the page's own handlers as a user's would.
 */
'use strict';

const {spawn} = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const CHROMIUM_FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--no-default-browser-check',
  '--disable-default-apps', '--disable-extensions', '--mute-audio', '--disable-dev-shm-usage',
  '--remote-debugging-pipe',
];

function findChromium() {
  for (const p of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (p && fs.existsSync(p)) return p;
  }
  return null;
}

class Browser {
  static launch(opts = {}) {
    const exe = opts.executable || findChromium();
    if (!exe) throw new Error('no chromium (apt-get install chromium)');
    const profile = fs.mkdtempSync(path.join(opts.tmp || os.tmpdir(), 'cprof-chromium-'));
    const args = CHROMIUM_FLAGS.concat([`--user-data-dir=${profile}`, `--window-size=${opts.width || 1400},${opts.height || 900}`, 'about:blank']);
    const proc = spawn(exe, args, {stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe']});
    const b = new Browser(proc, profile);
    return b;
  }

  constructor(proc, profile) {
    this.proc = proc;
    this.profile = profile;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    this.stderr = '';
    this.closed = false;
    proc.stdio[2].on('data', (d) => { this.stderr = (this.stderr + d).slice(-8000); });
    let buf = Buffer.alloc(0);
    proc.stdio[4].on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let z;
      while ((z = buf.indexOf(0)) >= 0) {
        const msg = JSON.parse(buf.slice(0, z).toString('utf8'));
        buf = buf.slice(z + 1);
        this.dispatch(msg);
      }
    });
    proc.on('exit', (code, sig) => {
      this.closed = true;
      for (const [, p] of this.pending) p.reject(new Error(`chromium exited (${code === null ? sig : code}): ${this.stderr.slice(-2000)}`));
      this.pending.clear();
    });
  }

  dispatch(msg) {
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message} ${msg.error.data || ''}`));
      else p.resolve(msg.result);
      return;
    }
    for (const l of this.listeners) l(msg);
  }

  send(method, params = {}, sessionId) {
    if (this.closed) return Promise.reject(new Error('chromium is not running: ' + this.stderr.slice(-2000)));
    const id = this.nextId++;
    const msg = {id, method, params};
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {resolve, reject, method});
      this.proc.stdio[3].write(JSON.stringify(msg) + '\0');
    });
  }

  async newPage(width, height) {
    const {targetId} = await this.send('Target.createTarget', {url: 'about:blank'});
    const {sessionId} = await this.send('Target.attachToTarget', {targetId, flatten: true});
    const page = new Page(this, sessionId);
    await page.init(width || 1400, height || 900);
    return page;
  }

  async close() {
    const exited = new Promise((r) => (this.closed ? r() : this.proc.once('exit', r)));
    if (!this.closed) {
      this.send('Browser.close').catch(() => {});
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (!this.closed) {
        this.proc.kill('SIGKILL');
        await exited;
      }
    }
    try {
      fs.rmSync(this.profile, {recursive: true, force: true, maxRetries: 5, retryDelay: 200});
    } catch (e) {
      /* A helper process still writing: leave the directory (it is in the test's scratch). */
    }
  }
}

class Page {
  constructor(browser, sessionId) {
    this.b = browser;
    this.sid = sessionId;
    this.errors = [];
    this.console = [];
    browser.listeners.push((msg) => {
      if (msg.sessionId !== this.sid) return;
      if (msg.method === 'Runtime.exceptionThrown') {
        const d = msg.params.exceptionDetails;
        this.errors.push((d.exception && d.exception.description) || d.text);
      } else if (msg.method === 'Runtime.consoleAPICalled') {
        const text = msg.params.args.map((a) => (a.value !== undefined ? a.value : a.description)).join(' ');
        this.console.push(`${msg.params.type}: ${text}`);
        if (msg.params.type === 'error') this.errors.push('console.error: ' + text);
      } else if (msg.method === 'Log.entryAdded' && msg.params.entry.level === 'error') {
        this.errors.push('log: ' + msg.params.entry.text + ' ' + (msg.params.entry.url || ''));
      }
    });
  }

  send(method, params) {
    return this.b.send(method, params, this.sid);
  }

  async init(width, height) {
    await this.send('Page.enable');
    await this.send('Runtime.enable');
    await this.send('Log.enable');
    await this.send('Emulation.setDeviceMetricsOverride', {width, height, deviceScaleFactor: 1, mobile: false});
  }

  async goto(url) {
    await this.send('Page.navigate', {url});
    await this.waitFor('document.readyState === "complete"', 30000);
  }

  /* The value of a JS expression in the page (promises awaited). */
  async eval(expr) {
    const r = await this.send('Runtime.evaluate', {expression: expr, awaitPromise: true, returnByValue: true});
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new Error(`in the page: ${(d.exception && d.exception.description) || d.text} (evaluating ${expr.slice(0, 200)})`);
    }
    return r.result.value;
  }

  async waitFor(expr, timeout = 20000, what) {
    const end = Date.now() + timeout;
    let last;
    for (;;) {
      try {
        last = await this.eval(expr);
        if (last) return last;
      } catch (e) {
        last = e.message;
      }
      if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what || expr} (last: ${JSON.stringify(last)})`);
      await new Promise((r) => setTimeout(r, 40));
    }
  }

  /* Waits until the page has rendered more views than `after` (app.js counts them). */
  async rendered(after, timeout) {
    return this.waitFor(`Number(document.body.dataset.ready || 0) > ${after || 0}`, timeout || 30000, 'the view to render');
  }

  readyCount() {
    return this.eval('Number(document.body.dataset.ready || 0)');
  }

  /* The centre (or a point at fractions fx, fy) of the first element matching sel. */
  async point(sel, fx = 0.5, fy = 0.5) {
    const r = await this.eval(`(() => { const e = document.querySelector(${JSON.stringify(sel)});
      if (!e) return null; e.scrollIntoView({block: 'center', inline: 'nearest'}); const r = e.getBoundingClientRect();
      return {x: r.left + r.width * ${fx}, y: r.top + r.height * ${fy}, w: r.width, h: r.height}; })()`);
    if (!r) throw new Error('no element matches ' + sel);
    return r;
  }

  async mouse(type, x, y, opts = {}) {
    await this.send('Input.dispatchMouseEvent', Object.assign({type, x, y, button: opts.button || (type === 'mouseMoved' ? 'none' : 'left'),
      buttons: opts.buttons !== undefined ? opts.buttons : type === 'mouseReleased' ? 0 : 1, clickCount: opts.clickCount || 1, modifiers: opts.modifiers || 0}, opts.extra || {}));
  }

  async clickAt(x, y) {
    await this.mouse('mouseMoved', x, y, {buttons: 0});
    await this.mouse('mousePressed', x, y);
    await this.mouse('mouseReleased', x, y);
  }

  async click(sel, fx, fy) {
    const p = await this.point(sel, fx, fy);
    await this.clickAt(p.x, p.y);
    return p;
  }

  async hover(sel) {
    const p = await this.point(sel);
    await this.mouse('mouseMoved', p.x, p.y, {buttons: 0});
    return p;
  }

  async drag(x0, y0, x1, y1, steps = 8) {
    await this.mouse('mouseMoved', x0, y0, {buttons: 0});
    await this.mouse('mousePressed', x0, y0);
    for (let i = 1; i <= steps; i++) await this.mouse('mouseMoved', x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps, {buttons: 1});
    await this.mouse('mouseReleased', x1, y1);
  }

  async type(sel, text) {
    await this.click(sel);
    await this.eval(`(() => { const e = document.querySelector(${JSON.stringify(sel)}); e.select && e.select(); })()`);
    await this.send('Input.insertText', {text});
  }

  async key(key, code) {
    await this.send('Input.dispatchKeyEvent', {type: 'keyDown', key, code: code || key, text: key.length === 1 ? key : undefined});
    await this.send('Input.dispatchKeyEvent', {type: 'keyUp', key, code: code || key});
  }

  async screenshot(file) {
    const {data} = await this.send('Page.captureScreenshot', {format: 'png'});
    fs.writeFileSync(file, Buffer.from(data, 'base64'));
  }
}

module.exports = {Browser, Page, findChromium};
