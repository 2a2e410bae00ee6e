// End-to-end test of the demo app in a real browser.
//
// 1. builds the web export (dist/, for the sub-path /app) with `recsys build-app`;
// 2. builds a warehouse with the real main job (`recsys run`) on the bundled MovieLens data,
//    or on the folder RECSYS_TEST_DATA names;
// 3. starts the real API (`recsys serve`, which serves dist/ at /app itself) and, for the
//    cross-origin case, a second static server for dist/ at /app on another port;
// 4. drives Debian's Chromium (/usr/bin/chromium) with playwright-core: the app loaded from
//    the recsys server at /app gets every asset and calls the API on its own origin (no CORS);
//    from the other origin (`?api=`), a known user shows both lists with real catalog titles,
//    a cold-start id shows the fallback, a bad id and a server that is down show their errors.
//    Screenshots go to e2e/artifacts/.
//
// Usage: npm run e2e
// Env: RECSYS_PYTHON (python with the project installed, default ../.venv/bin/python when it
//      exists, else python3), RECSYS_TEST_DATA (a MovieLens folder instead of the bundled data), CHROMIUM_PATH,
//      E2E_REUSE_DIST=1 (keep an existing dist/ instead of building it again).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const appDir = path.resolve(here, '..');
const repoDir = path.resolve(appDir, '..');
const artifacts = path.join(here, 'artifacts');
const repoVenvPython = path.join(repoDir, '.venv', 'bin', 'python');
const python = process.env.RECSYS_PYTHON || (fs.existsSync(repoVenvPython) ? repoVenvPython : 'python3');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
let COLD_START_ID = null; // from /users/sample
const APP_PATH = '/app'; // where the export is served (app.json's experiments.baseUrl)

const children = [];
const results = [];

function log(message) {
  console.log(`[e2e] ${message}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function run(cmd, args, options) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const res = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${res.status}`);
}

function start(cmd, args, options) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  child.lastStderr = () => stderr;
  children.push(child);
  return child;
}

async function waitFor(url, child, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early: ${child.lastStderr()}`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/** dist/ at /app (the sub-path it is built for), as the recsys server serves it, on another origin. */
function serveStatic(root, port) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
    '.png': 'image/png', '.ico': 'image/x-icon', '.ttf': 'font/ttf' };
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (urlPath !== APP_PATH && !urlPath.startsWith(`${APP_PATH}/`)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`not under ${APP_PATH}`);
      return;
    }
    let file = path.join(root, urlPath.slice(APP_PATH.length));
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      file = path.join(root, 'index.html'); // single-page app fallback
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function catalogIds(dataDir) {
  // the bundled data set is gzip-compressed (recommender/datasets/ml-latest-small/*.csv.gz)
  const folder = dataDir || path.join(repoDir, 'recommender', 'datasets', 'ml-latest-small');
  const plain = path.join(folder, 'movies.csv');
  const text = fs.existsSync(plain)
    ? fs.readFileSync(plain, 'utf8')
    : zlib.gunzipSync(fs.readFileSync(`${plain}.gz`)).toString('utf8');
  const ids = new Set();
  for (const line of text.split(/\r?\n/).slice(1)) {
    const id = Number(line.split(',', 1)[0]);
    if (Number.isInteger(id) && id > 0) ids.add(id);
  }
  return ids;
}

async function check(name, fn) {
  try {
    await fn();
    results.push({ name, ok: true });
    log(`PASS ${name}`);
  } catch (error) {
    results.push({ name, ok: false, error });
    log(`FAIL ${name}: ${error.stack || error}`);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function main() {
  const dataDir = process.env.RECSYS_TEST_DATA; // unset: the bundled ml-latest-small
  if (dataDir && !fs.existsSync(dataDir)) throw new Error(`RECSYS_TEST_DATA=${dataDir} does not exist`);
  if (!fs.existsSync(chromiumPath)) throw new Error(`no browser at ${chromiumPath} (apt-get install chromium)`);
  fs.mkdirSync(artifacts, { recursive: true });

  const dist = path.join(appDir, 'dist');
  if (!(process.env.E2E_REUSE_DIST && fs.existsSync(path.join(dist, 'index.html')))) {
    run(python, ['-m', 'recommender', 'build-app', '--app-source', appDir], { cwd: repoDir });
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'recsys-e2e-'));
  const env = { ...process.env, RECSYS_WAREHOUSE: path.join(work, 'warehouse', 'movielens.duckdb'),
    RECSYS_SPLIT_STRATEGY: 'per_user' };
  run(python, ['-m', 'recommender', 'run', ...(dataDir ? [dataDir] : []), '--split', 'per-user', '--trials', '4',
    '--out', path.join(work, 'reports')], { cwd: repoDir, env });

  const [apiPort, webPort] = [await freePort(), await freePort()];
  const api = `http://127.0.0.1:${apiPort}`;
  const web = `http://127.0.0.1:${webPort}`;
  const apiProcess = start(python, ['-m', 'recommender', 'serve', '--port', String(apiPort), '--log-level', 'warning'],
    { cwd: repoDir, env: { ...env, RECSYS_CORS_ORIGINS: web } });
  await waitFor(`${api}/health`, apiProcess);
  const staticServer = await serveStatic(dist, webPort);
  log(`API and app ${api}${APP_PATH}, web app elsewhere ${web}${APP_PATH}`);

  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const ids = catalogIds(dataDir);
    const sample = await (await fetch(`${api}/users/sample?n=3`)).json();
    const userId = String(sample.user_ids[0]);
    COLD_START_ID = String(sample.cold_start_example);

    await check('the API documentation at /docs loads from the server alone, every other host blocked', async () => {
      const docs = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const foreign = [];
      const errors = [];
      await docs.route('**/*', (route) => {
        const url = new URL(route.request().url());
        if (url.origin === api) return route.continue();
        foreign.push(url.href);
        return route.abort();
      });
      docs.on('pageerror', (error) => errors.push(error.message));
      const answer = await docs.goto(`${api}/docs`);
      assert(answer.status() === 200, `/docs: ${answer.status()}`);
      const title = docs.locator('.swagger-ui .info .title');
      await title.waitFor({ timeout: 20000 });
      assert((await title.innerText()).includes('recsys-duckdb'), `title: ${await title.innerText()}`);
      await docs.locator('.opblock-summary-path', { hasText: '/compare/{user_id}' }).first().waitFor({ timeout: 20000 });
      assert(errors.length === 0, `page errors: ${errors.join('; ')}`);
      assert(foreign.length === 0, `requests to other hosts: ${foreign.join(', ')}`);
      await docs.screenshot({ path: path.join(artifacts, 'api-docs.png') });
      await docs.close();
    });

    await check('the recsys server serves the app at /app, which calls the API on its own origin', async () => {
      // ${web} is the only origin RECSYS_CORS_ORIGINS allows: ${api} works only as the same origin
      assert(apiProcess.lastStderr().includes(`${api}${APP_PATH}`), `start-up line: ${apiProcess.lastStderr()}`);
      for (const entry of [APP_PATH, `${APP_PATH}/`]) {
        const same = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
        const requests = [];
        const bad = [];
        same.on('request', (request) => requests.push(request.url()));
        same.on('requestfailed', (request) => bad.push(`${request.url()} failed: ${request.failure()?.errorText}`));
        same.on('response', (response) => response.status() >= 400 && bad.push(`${response.url()} ${response.status()}`));
        same.on('pageerror', (error) => bad.push(`page error: ${error.message}`));
        const main = await same.goto(`${api}${entry}`);
        assert(main.status() === 200, `${entry}: ${main.status()}`);
        assert((await same.getByTestId('api-url').inputValue()) === api, 'the server URL is not the page origin');
        await same.getByTestId('example-cold').waitFor({ timeout: 20000 }); // /users/sample answered
        await same.getByTestId('user-id').fill(userId);
        await same.getByTestId('show').click();
        await same.getByTestId('results').waitFor({ timeout: 20000 });
        const expected = await (await fetch(`${api}/compare/${userId}?k=10`)).json();
        for (const side of ['accuracy', 'discovery']) {
          const shown = await same.getByTestId(`${side}-title`).allInnerTexts();
          assert(shown.length === 10, `${side}: ${shown.length} titles shown`);
          expected[side].items.forEach((item, i) => {
            assert(shown[i].startsWith(item.title), `${side}: shown "${shown[i]}", API says "${item.title}"`);
          });
        }
        assert(bad.length === 0, `${entry}: ${bad.join('; ')}`);
        const foreign = requests.filter((url) => new URL(url).origin !== api);
        assert(foreign.length === 0, `requests to other origins: ${foreign.join(', ')}`);
        const paths = requests.map((url) => new URL(url).pathname);
        assert(paths.some((p) => p.startsWith(`${APP_PATH}/_expo/static/js/`)), `no bundle under ${APP_PATH}: ${paths}`);
        assert(paths.includes(`/compare/${userId}`), `no same-origin /compare call: ${paths}`);
        if (entry === APP_PATH) await same.screenshot({ path: path.join(artifacts, 'same-origin.png'), fullPage: true });
        await same.close();
      }
    });

    await check('a known user sees both lists with real catalog titles', async () => {
      await page.goto(`${web}${APP_PATH}/?api=${encodeURIComponent(api)}`);
      await page.getByTestId('user-id').fill(userId);
      await page.getByTestId('show').click();
      await page.getByTestId('results').waitFor({ timeout: 20000 });
      const expected = await (await fetch(`${api}/compare/${userId}?k=10`)).json();
      for (const side of ['accuracy', 'discovery']) {
        const shown = await page.getByTestId(`${side}-title`).allInnerTexts();
        const want = expected[side].items;
        assert(shown.length === want.length && shown.length === 10, `${side}: ${shown.length} titles shown`);
        want.forEach((item, i) => {
          assert(ids.has(item.movie_id), `${side}: movie ${item.movie_id} is not in movies.csv`);
          assert(shown[i].startsWith(item.title), `${side}: shown "${shown[i]}", API says "${item.title}"`);
        });
        const tier = await page.getByTestId(`${side}-tier`).innerText();
        assert(tier.includes('Personalised'), `${side}: tier "${tier}"`);
      }
      assert((await page.getByTestId('overlap').innerText()).includes('in both lists'), 'overlap line missing');
      await page.screenshot({ path: path.join(artifacts, 'compare.png'), fullPage: true });
    });

    await check('each list carries a badge of its popularity and novelty, and shared movies are marked', async () => {
      const expected = await (await fetch(`${api}/compare/${userId}?k=10`)).json();
      for (const side of ['accuracy', 'discovery']) {
        const badge = await page.getByTestId(`${side}-badge`).innerText();
        const stats = expected[`${side}_stats`];
        assert(badge.includes(`popularity ${stats.mean_popularity.toFixed(0)}`), `${side} badge: "${badge}"`);
        assert(badge.includes(`novelty ${stats.novelty.toFixed(1)} bits`), `${side} badge: "${badge}"`);
        const marked = await page.getByTestId(`${side}-shared`).count();
        assert(marked === expected.overlap.count, `${side}: ${marked} marked, ${expected.overlap.count} shared`);
      }
      const reasons = await page.getByTestId('accuracy-reason').allInnerTexts();
      assert(reasons.every((r) => r.startsWith('Because you liked ')), `reasons: ${reasons.join(' | ')}`);
    });

    await check('the pickers put any served model on either side', async () => {
      await page.getByTestId('left-ease').click();
      await page.getByTestId('right-ranker').click();
      await page.getByTestId('accuracy').getByText('EASE', { exact: true }).waitFor({ timeout: 20000 });
      await page.getByTestId('discovery').getByText('Two-stage ranker', { exact: true }).waitFor({ timeout: 20000 });
      const expected = await (await fetch(`${api}/compare/${userId}?k=10&left=ease&right=ranker`)).json();
      assert(expected.accuracy.model === 'ease' && expected.discovery.model === 'ranker', 'the API ignored the models');
      for (const side of ['accuracy', 'discovery']) {
        const shown = await page.getByTestId(`${side}-title`).allInnerTexts();
        expected[side].items.forEach((item, i) => {
          assert(shown[i].startsWith(item.title), `${side}: shown "${shown[i]}", API says "${item.title}"`);
        });
      }
      await page.screenshot({ path: path.join(artifacts, 'pickers.png'), fullPage: true });
      await page.getByTestId('left-default').click();
      await page.getByTestId('right-default').click();
      await page.getByTestId('discovery').getByText('Discovery', { exact: true }).waitFor({ timeout: 20000 });
    });

    await check('a genre chip filters both lists and "more" pages them', async () => {
      await page.getByTestId('genre-Comedy').click();
      await page.getByText('Comedy only').waitFor({ timeout: 20000 });
      const expected = await (await fetch(`${api}/compare/${userId}?k=10&genre=Comedy`)).json();
      for (const side of ['accuracy', 'discovery']) {
        const shown = await page.getByTestId(`${side}-title`).allInnerTexts();
        assert(shown.length === 10, `${side}: ${shown.length} titles shown`);
        expected[side].items.forEach((item, i) => {
          assert(item.genres.includes('Comedy'), `${side}: ${item.title} is not a comedy`);
          assert(shown[i].startsWith(item.title), `${side}: shown "${shown[i]}", API says "${item.title}"`);
        });
      }
      await page.screenshot({ path: path.join(artifacts, 'filtered.png'), fullPage: true });
      await page.getByTestId('more').click();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="accuracy-title"]').length === 20);
      const next = await (await fetch(`${api}/compare/${userId}?k=10&offset=10&genre=Comedy`)).json();
      const shown = await page.getByTestId('accuracy-title').allInnerTexts();
      next.accuracy.items.forEach((item, i) => {
        assert(shown[10 + i].startsWith(item.title), `page 2: shown "${shown[10 + i]}", API says "${item.title}"`);
      });
      assert(new Set(shown).size === 20, 'a page repeated a movie');
      await page.getByTestId('genre-all').click();
      await page.waitForFunction(() => !document.body.innerText.includes('Comedy only'));
    });

    await check('a cold-start id shows the popular fallback', async () => {
      await page.getByTestId('user-id').fill(COLD_START_ID);
      await page.getByTestId('show').click();
      await page.getByTestId('cold-start-banner').waitFor({ timeout: 20000 });
      const tier = await page.getByTestId('accuracy-tier').innerText();
      assert(tier.includes('cold-start fallback'), `tier "${tier}"`);
      assert((await page.getByTestId('accuracy-title').count()) === 10, 'fallback list is not 10 movies');
      await page.screenshot({ path: path.join(artifacts, 'cold-start.png'), fullPage: true });
    });

    await check('a malformed id shows an error', async () => {
      await page.getByTestId('user-id').fill('abc');
      await page.getByTestId('show').click();
      await page.getByTestId('error').waitFor({ timeout: 10000 });
      assert((await page.getByTestId('error').innerText()).includes('whole number'), 'no explanation shown');
    });

    await check('a server that is down shows an error', async () => {
      const down = `http://127.0.0.1:${await freePort()}`;
      await page.goto(`${web}${APP_PATH}/?api=${encodeURIComponent(down)}`);
      await page.getByTestId('user-id').fill(userId);
      await page.getByTestId('show').click();
      await page.getByTestId('error').waitFor({ timeout: 20000 });
      assert((await page.getByTestId('error').innerText()).includes('Cannot reach the server'), 'no explanation shown');
      await page.screenshot({ path: path.join(artifacts, 'server-down.png') });
    });

    await check('a narrow screen stacks the lists', async () => {
      const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
      await phone.goto(`${web}${APP_PATH}/?api=${encodeURIComponent(api)}`);
      await phone.getByTestId('user-id').fill(userId);
      await phone.getByTestId('show').click();
      await phone.getByTestId('results').waitFor({ timeout: 20000 });
      const a = await phone.getByTestId('accuracy').boundingBox();
      const d = await phone.getByTestId('discovery').boundingBox();
      assert(d.y >= a.y + a.height - 1, 'lists are not stacked on a narrow screen');
      await phone.screenshot({ path: path.join(artifacts, 'narrow.png'), fullPage: true });
      await phone.close();
    });
  } finally {
    await browser.close();
    staticServer.close();
  }
}

let exitCode = 0;
try {
  await main();
} catch (error) {
  console.error(`[e2e] setup failed: ${error.stack || error}`);
  results.push({ name: 'setup', ok: false, error });
} finally {
  for (const child of children) child.kill('SIGTERM');
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  exitCode = failed === 0 && passed > 0 ? 0 : 1;
}
process.exit(exitCode);
