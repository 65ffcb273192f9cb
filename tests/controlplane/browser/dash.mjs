// dash.mjs - the control plane's dashboard in a real headless browser
// (Debian's chromium through playwright-core), driven by
// tests/controlplane/stages.sh. Prints one "PASS: ..." or "FAIL: ..." line
// per check, "session <id>" for the sessions it saw, and exits 1 when
// something could not even be tried.
//
// Environment:
//   CP_URL      http://host:port of the control plane
//   CLIENT      JSON array: the client's command line for the streamed session
//   CLIENT_ABORT JSON array: the client's command line for the aborted one
//   FREEZE      "agg-q2=pid,pid;agg-q3=pid;...": replicas held with SIGSTOP
//               while the session runs, resumed stage by stage, so the
//               overall progress rises in steps the page must show
//   FILTER_PIDS "pid,pid": the filter replicas, held while the aborted
//               session's client is killed mid-stream
//   RESULTS_DIR folder of the client's result files (to compare a link's)
//   SHOT        where the screenshot goes
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const env = process.env;
const WAIT = 60000; // ms: every wait is bounded
let failures = 0;
const ok = (m) => console.log(`PASS: dashboard: ${m}`);
const ko = (m) => { failures++; console.log(`FAIL: dashboard: ${m}`); };
const check = (c, m) => (c ? ok(m) : ko(m));

function parseFreeze(s) {
  return (s || '').split(';').filter(Boolean).map((part) => {
    const [stage, pids] = part.split('=');
    return { stage, pids: pids.split(',').filter(Boolean).map(Number) };
  });
}

function signal(pids, sig) {
  for (const p of pids) {
    try { process.kill(p, sig); } catch (e) { ko(`kill -${sig} ${p}: ${e.message}`); }
  }
}

function run(cmd) {
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '', code: null, child };
  child.stdout.on('data', (d) => { out.stdout += d; });
  child.stderr.on('data', (d) => { out.stderr += d; });
  out.done = new Promise((res) => child.on('exit', (code, sig) => {
    out.code = code ?? sig;
    res(out.code);
  }));
  return out;
}

async function knownIds(page) {
  return page.evaluate(async () => {
    const r = await fetch('/api/sessions');
    return (await r.json()).sessions.map((s) => s.id);
  });
}

// Waits for a session row that is not in `known`; returns its id.
async function newRow(page, known) {
  const h = await page.waitForFunction((k) => {
    const rows = [...document.querySelectorAll('tr[data-session]')];
    const r = rows.find((x) => !k.includes(x.dataset.session));
    return r ? r.dataset.session : null;
  }, known, { timeout: WAIT });
  return h.jsonValue();
}

const row = (id) => `tr[data-session="${id}"]`;

async function progress(page, id) {
  return page.$eval(row(id), (r) => Number(r.dataset.progress));
}

// Waits until the row's data-progress is above `than`; returns it.
async function progressAbove(page, id, than) {
  await page.waitForFunction(([sel, t]) => {
    const r = document.querySelector(sel);
    return r && Number(r.dataset.progress) > t;
  }, [row(id), than], { timeout: WAIT });
  return progress(page, id);
}

async function stagesAlive(page, what) {
  try {
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('tr[data-stage]')];
      const need = ['filter', 'agg-q2', 'agg-q3', 'agg-q4', 'sink'];
      return need.every((n) => {
        const r = rows.find((x) => x.dataset.stage === n);
        return r && Number(r.dataset.expected) > 0 &&
          Number(r.dataset.alive) === Number(r.dataset.expected);
      });
    }, null, { timeout: WAIT });
    const seen = await page.$$eval('tr[data-stage]', (rs) =>
      rs.map((r) => `${r.dataset.stage} ${r.dataset.alive}/${r.dataset.expected}`).join(', '));
    ok(`${what}: every stage shows all its replicas alive (${seen})`);
  } catch (e) {
    ko(`${what}: the stages do not all show their replicas alive: ${e.message.split('\n')[0]}`);
  }
}

async function streamed(page) {
  const freeze = parseFreeze(env.FREEZE);
  const known = await knownIds(page);
  const all = freeze.flatMap((f) => f.pids);
  signal(all, 'SIGSTOP');
  const client = run(JSON.parse(env.CLIENT));
  let id, last, values = [];
  try {
    id = await newRow(page, known);
    console.log(`session ${id}`);
    values.push(await progress(page, id));
    // the filter completes while the later stages are held (the page may
    // first show the session before or after that)
    await page.waitForFunction((sel) => {
      const b = document.querySelector(`${sel} .bar[data-stage="filter"]`);
      return b && Number(b.dataset.percent) === 100;
    }, row(id), { timeout: WAIT });
    last = await progress(page, id);
    if (last > values[values.length - 1]) values.push(last);
    for (const f of freeze) {
      signal(f.pids, 'SIGCONT');
      f.resumed = true;
      if (last < 100) {
        last = await progressAbove(page, id, last);
        values.push(last);
      }
    }
    const risen = values.every((v, i) => i === 0 || v > values[i - 1]);
    check(risen && values.length >= 3,
      `the running session's data-progress rose step by step as its stages were released: ${values.join(' -> ')}`);
  } catch (e) {
    ko(`the session's progress did not rise (values ${values.join(' -> ')}): ${e.message.split('\n')[0]}`);
  } finally {
    for (const f of freeze) if (!f.resumed) signal(f.pids, 'SIGCONT');
  }
  const code = await Promise.race([client.done,
    new Promise((r) => setTimeout(() => r('timeout'), 120000))]);
  check(code === 0, `the client exited 0 (${code}: ${client.stderr.trim().split('\n').pop() || ''})`);
  const printed = ((client.stdout + client.stderr).match(/\bsession[= ]([0-9a-f-]{36})/) || [])[1];
  check(id && printed === id, `the row that rose is the client's session (${printed} vs ${id})`);
  if (!id) return null;
  try {
    await page.waitForSelector(`${row(id)}[data-state="done"]`, { timeout: WAIT });
    ok(`then shows it done with data-progress ${await progress(page, id)}`);
    check(await progress(page, id) === 100, 'a done session shows 100 %');
  } catch (e) {
    ko(`the session did not show done: ${e.message.split('\n')[0]}`);
  }
  await stagesAlive(page, 'after the session');
  return id;
}

// Result links: once the API lists results for the session, the row links
// every file, and following a link returns the client's file.
async function links(page, id) {
  const api = await page.evaluate(async (sid) => (await fetch(`/api/sessions/${sid}`)).json(), id);
  if (!('results' in api)) {
    console.log('SKIP: dashboard: the API has no results field yet: no links to check');
    return;
  }
  try {
    await page.waitForFunction((sel) => document.querySelectorAll(`${sel} a.result`).length >= 5,
      row(id), { timeout: WAIT });
    const hrefs = await page.$$eval(`${row(id)} a.result`, (as) =>
      as.map((a) => ({ file: a.dataset.file, href: a.getAttribute('href') })));
    ok(`the done session links its ${hrefs.length} result files (${hrefs.map((h) => h.file).join(', ')})`);
    const pick = hrefs.find((h) => h.file === 'q1.csv') || hrefs[0];
    // a click on the link, as a person would: the file comes as a download
    const [dl] = await Promise.all([
      page.waitForEvent('download', { timeout: WAIT }),
      page.click(`${row(id)} a.result[data-file="${pick.file}"]`),
    ]);
    const got = await dl.path();
    const body = got ? readFileSync(got, 'utf8') : null;
    const mine = `${env.RESULTS_DIR}/${pick.file}`;
    const want = existsSync(mine) ? readFileSync(mine, 'utf8') : null;
    check(body !== null && want !== null && body === want,
      `clicking the ${pick.file} link downloads the file the client wrote (${dl.suggestedFilename()}, ${body ? body.length : 0} bytes)`);
  } catch (e) {
    ko(`result links: ${e.message.split('\n')[0]}`);
  }
}

async function aborted(page) {
  const filters = (env.FILTER_PIDS || '').split(',').filter(Boolean).map(Number);
  const known = await knownIds(page);
  signal(filters, 'SIGSTOP'); // the gateway's backlog bound then holds the client mid-stream
  const client = run(JSON.parse(env.CLIENT_ABORT));
  try {
    const id = await newRow(page, known);
    await page.waitForSelector(`${row(id)}[data-state="streaming"]`, { timeout: WAIT });
    client.child.kill('SIGKILL');
    await client.done;
    signal(filters, 'SIGCONT');
    await page.waitForFunction((sel) => {
      const r = document.querySelector(sel);
      const e = r && r.querySelector('.err');
      return r && ['aborted', 'failed'].includes(r.dataset.state) && e && e.textContent.length > 0;
    }, row(id), { timeout: WAIT });
    const [state, err] = await page.$eval(row(id), (r) => [r.dataset.state, r.querySelector('.err').textContent]);
    ok(`a client killed mid-stream: its session shows ${state} with its error ("${err}")`);
  } catch (e) {
    ko(`the killed client's session did not show aborted with an error: ${e.message.split('\n')[0]}`);
  } finally {
    signal(filters, 'SIGCONT');
    if (client.code === null) client.child.kill('SIGKILL');
  }
}

// Compact with many sessions: running ones first, at most 10 finished ones
// (here 2: /?finished=2) until "show all finished" is clicked.
async function compact(page) {
  const LIMIT = 2;
  try {
    await page.goto(`${env.CP_URL}/?finished=${LIMIT}`);
    const api = await page.evaluate(async () => (await (await fetch('/api/sessions')).json()).sessions);
    const fin = api.filter((s) => ['done', 'failed', 'aborted'].includes(s.state)).length;
    const want = api.length - fin + Math.min(fin, LIMIT);
    const rows = () => page.$$eval('tr[data-session]', (rs) => rs.map((r) => r.dataset.state));
    await page.waitForFunction((n) => document.querySelectorAll('tr[data-session]').length === n,
      want, { timeout: WAIT });
    const states = await rows();
    const firstFinal = states.findIndex((x) => ['done', 'failed', 'aborted'].includes(x));
    check(firstFinal < 0 || states.slice(firstFinal).every((x) => ['done', 'failed', 'aborted'].includes(x)),
      `running sessions listed first, then ${Math.min(fin, LIMIT)} of ${fin} finished ones (${states.length} rows)`);
    await page.click('#more');
    await page.waitForFunction((n) => document.querySelectorAll('tr[data-session]').length >= n,
      api.length, { timeout: WAIT });
    ok(`"show all finished" lists all ${api.length} sessions`);
  } catch (e) {
    ko(`the sessions table is not compact as expected: ${e.message.split('\n')[0]}`);
  }
  await page.goto(`${env.CP_URL}/`);
  // two polls: the throughput column (rates from successive counters) is
  // filled for the screenshot
  await page.waitForFunction(() => {
    const r = document.querySelector('tr[data-stage="filter"]');
    return r && r.dataset.rate !== undefined;
  }, null, { timeout: WAIT });
}

async function main() {
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const resp = await page.goto(env.CP_URL + '/');
    check(resp.status() === 200, `GET / answered ${resp.status()}`);
    await page.waitForFunction(() => document.getElementById('status').dataset.updated,
      null, { timeout: WAIT });
    ok('the page loaded and polled the API');
    await stagesAlive(page, 'before the session');
    const id = await streamed(page);
    if (id) await links(page, id);
    if (env.CLIENT_ABORT) await aborted(page);
    await compact(page);
    check(errors.length === 0, `no script error on the page (${errors.join('; ')})`);
    if (env.SHOT) {
      mkdirSync(dirname(env.SHOT), { recursive: true });
      await page.screenshot({ path: env.SHOT, fullPage: true });
      console.log(`screenshot ${env.SHOT}`);
    }
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(failures ? 1 : 0), (e) => {
  console.log(`FAIL: dashboard: ${e.stack || e}`);
  process.exit(1);
});
