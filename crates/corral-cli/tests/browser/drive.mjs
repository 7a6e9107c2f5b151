// Opens one HTML file in Debian's chromium, offline, runs a scenario on it
// and prints what happened as one JSON object (the Rust tests assert on it).
//
//   node drive.mjs PAGE.html SCENARIO.json
//
// playwright-core is loaded from CORRAL_BROWSER_NODE_MODULES (scripts/test.sh
// installs it from package-lock.json); the browser is CHROMIUM or
// /usr/bin/chromium. The caller runs this under `unshare --net`; here every
// request other than the page's own file:// URL is also aborted and
// recorded, and the context is offline.
//
// Output: {"load_ms", "console": [{type, text, location}], "errors": [page
// errors], "requests": [{url, resourceType, outcome}], "csp": [violations],
// "results": [{step, value} | {step, error}]}.
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [pagePath, scenarioPath] = process.argv.slice(2);
if (!pagePath || !scenarioPath) {
  console.error('usage: node drive.mjs PAGE.html SCENARIO.json');
  process.exit(2);
}
const modules = process.env.CORRAL_BROWSER_NODE_MODULES;
if (!modules) {
  console.error('CORRAL_BROWSER_NODE_MODULES is not set (scripts/test.sh sets it)');
  process.exit(2);
}
const require = createRequire(join(resolve(modules), 'resolve.js'));
const { chromium } = require('playwright-core');

const scenario = JSON.parse(readFileSync(scenarioPath, 'utf8'));
const pageUrl = pathToFileURL(resolve(pagePath)).href;
const profile = mkdtempSync(join(tmpdir(), 'corral-chromium-'));

const report = { load_ms: null, console: [], errors: [], requests: [], csp: [], results: [] };

// Runs in the page before its own scripts: when data-ready turns "true" and
// which Content-Security-Policy violations happen.
function observe() {
  window.__corralCsp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__corralCsp.push({
      directive: e.violatedDirective,
      blocked: e.blockedURI,
      sample: e.sample,
    });
  });
  const mark = () => {
    if (window.__corralReadyAt === undefined && document.body && document.body.dataset.ready === 'true') {
      window.__corralReadyAt = performance.now();
    }
  };
  new MutationObserver(mark).observe(document, {
    attributes: true,
    attributeFilter: ['data-ready'],
    childList: true,
    subtree: true,
  });
}

const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1600, height: 1000 },
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  await context.setOffline(true);
  await context.addInitScript(observe);
  await context.route('**/*', (route) => {
    if (route.request().url() === pageUrl) return route.continue();
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => {
    const l = m.location();
    report.console.push({ type: m.type(), text: m.text(), location: l && l.url ? `${l.url}:${l.lineNumber}` : '' });
  });
  page.on('pageerror', (e) => report.errors.push(String(e && e.stack ? e.stack : e)));
  page.on('request', (r) => {
    if (r.url() !== pageUrl) report.requests.push({ url: r.url(), resourceType: r.resourceType(), outcome: 'requested' });
  });
  page.on('requestfailed', (r) => {
    const failure = r.failure();
    report.requests.push({ url: r.url(), resourceType: r.resourceType(), outcome: `failed: ${failure ? failure.errorText : ''}` });
  });

  await page.goto(pageUrl, { waitUntil: 'load', timeout: 60000 });
  await page.waitForFunction(() => document.body && document.body.dataset.ready === 'true', null, {
    timeout: 60000,
    polling: 'raf',
  });
  report.load_ms = await page.evaluate(() =>
    window.__corralReadyAt === undefined ? performance.now() : window.__corralReadyAt,
  );

  for (const step of scenario) {
    try {
      report.results.push({ step, value: await run(page, step) });
    } catch (e) {
      report.results.push({ step, error: String(e && e.message ? e.message : e) });
    }
  }
  report.csp = await page.evaluate(() => window.__corralCsp || []);
} catch (e) {
  report.errors.push(`driver: ${e && e.stack ? e.stack : e}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(report) + '\n');

// Where a cytoscape element is on the screen: its rendered position plus the
// #graph container's top left; centred in the graph first when outside it.
async function screenPoint(page, kind, key) {
  const point = await page.evaluate(
    ([kind, key]) => {
      const cy = window.cy;
      const all = kind === 'vertex' ? cy.nodes() : cy.edges();
      const found = all.filter((e) => e.id() === key || e.data('label') === key);
      if (found.length === 0) return { missing: `no ${kind} with id or label ${JSON.stringify(key)}` };
      const el = found[0];
      if (!el.visible()) return { missing: `${kind} ${JSON.stringify(key)} is hidden` };
      const box = document.getElementById('graph').getBoundingClientRect();
      const at = () => (kind === 'vertex' ? el.renderedPosition() : el.renderedMidpoint());
      let p = at();
      let centred = false;
      if (p.x < 0 || p.y < 0 || p.x > box.width || p.y > box.height) {
        cy.center(el);
        p = at();
        centred = true;
      }
      return { id: el.id(), x: box.left + p.x, y: box.top + p.y, centred, matches: found.length };
    },
    [kind, key],
  );
  if (point.missing) throw new Error(point.missing);
  return point;
}

async function click(page, kind, key) {
  const point = await screenPoint(page, kind, key);
  await page.evaluate(() => {
    window.__corralClickAt = performance.now();
  });
  await page.mouse.click(point.x, point.y);
  return point;
}

async function run(page, step) {
  if ('eval' in step) return await page.evaluate(step.eval);
  if ('clickVertex' in step) return await click(page, 'vertex', step.clickVertex);
  if ('clickEdge' in step) return await click(page, 'edge', step.clickEdge);
  if ('fill' in step) return await page.fill(step.fill[0], step.fill[1]);
  if ('press' in step) return await page.keyboard.press(step.press);
  if ('click' in step) return await page.click(step.click);
  if ('check' in step) return await page.setChecked(step.check[0], step.check[1]);
  if ('select' in step) return await page.selectOption(step.select[0], step.select[1]);
  if ('text' in step) return await page.$$eval(step.text, (els) => els.map((e) => e.innerText));
  if ('textContent' in step) return await page.$$eval(step.textContent, (els) => els.map((e) => e.textContent));
  if ('count' in step) return await page.locator(step.count).count();
  if ('screenshot' in step) {
    await page.screenshot({ path: step.screenshot });
    return step.screenshot;
  }
  if ('wait' in step) return await page.waitForTimeout(step.wait);
  if ('waitFor' in step) {
    // Milliseconds from the last click until the selector matches (and,
    // given a second item, its text contains it).
    const [selector, text] = Array.isArray(step.waitFor) ? step.waitFor : [step.waitFor, null];
    await page.waitForFunction(
      ([selector, text]) =>
        [...document.querySelectorAll(selector)].some((e) => text === null || e.textContent.includes(text)),
      [selector, text],
      { timeout: 60000, polling: 'raf' },
    );
    return await page.evaluate(() => performance.now() - window.__corralClickAt);
  }
  throw new Error(`unknown step ${JSON.stringify(step)}`);
}
