// The classcast web app under test: a classcast binary built with the app embedded (-tags
// webdist), pages of it opened in Chromium, and in-page checks of what a person would see.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEV_API_KEY, DEV_API_SECRET } from './classcast.mjs';
import { repoRoot } from './paths.mjs';

const run = promisify(execFile);
const webDir = join(repoRoot, 'web');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Builds web/dist when it is missing or older than the app's or the classroom SDK's sources, then
 * bin with -tags webdist (race detector unless CLASSCAST_RACE=0). CLASSCAST_WEB_BIN names a
 * prebuilt one. Returns {bin, dispose} or {skip}.
 */
export async function buildClasscastWithWeb() {
  const fromEnv = process.env.CLASSCAST_WEB_BIN;
  if (fromEnv) {
    return existsSync(fromEnv) ? { bin: fromEnv, dispose: async () => {} } : { skip: `CLASSCAST_WEB_BIN=${fromEnv} does not exist` };
  }
  const dist = join(webDir, 'dist', 'index.html');
  const sources = Math.max(newestMtime(join(webDir, 'src')), newestMtime(join(repoRoot, 'client-sdk', 'js', 'src')), statSync(join(webDir, 'index.html')).mtimeMs);
  if (!existsSync(dist) || statSync(dist).mtimeMs < sources) {
    try {
      await run(join(repoRoot, 'scripts', 'npm-ci.sh'), ['web'], { cwd: repoRoot, maxBuffer: 16 << 20 });
      await run('npm', ['run', '--silent', 'build'], { cwd: webDir, maxBuffer: 16 << 20 });
    } catch (err) {
      return { skip: `the web app does not build: ${(err.stderr || err.stdout || err.message).trim().slice(-2000)}` };
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'classcast-web-'));
  const out = join(dir, 'classcast');
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const race = process.env.CLASSCAST_RACE === '0' ? [] : ['-race'];
    await run('go', ['build', ...race, '-tags', 'webdist', '-o', out, './cmd/classcast'], { cwd: repoRoot, maxBuffer: 16 << 20 });
  } catch (err) {
    await dispose();
    return { skip: `classcast does not build: ${(err.stderr || err.message).trim()}` };
  }
  return { bin: out, dispose };
}

/** An admin token (roomAdmin, roomList, roomRecord) from `classcast token --admin`. */
export async function mintAdminToken(bin, identity = 'admin-test') {
  const { stdout } = await run(bin, ['token', '--api-key', DEV_API_KEY, '--api-secret', DEV_API_SECRET, '--admin', '--identity', identity, '--valid-for', '1h']);
  return stdout.trim();
}

/**
 * A token with a classroom role from `classcast token --role` (docs/classroom-protocol.md), or
 * undefined when this classcast's token command has no --role yet (the page then fetches a plain
 * dev token).
 */
export async function mintRoleToken(bin, { room, identity, name = identity, role, classroom, mode }) {
  const args = ['token', '--api-key', DEV_API_KEY, '--api-secret', DEV_API_SECRET, '--room', room, '--identity', identity, '--name', name, '--role', role, '--valid-for', '1h'];
  if (classroom) args.push('--classroom', classroom, '--classroom-name', name);
  if (mode) args.push('--mode', mode);
  try {
    const { stdout } = await run(bin, args);
    return stdout.trim();
  } catch (err) {
    if (/flag provided but not defined: -role/.test(err.stderr ?? '')) return undefined;
    throw err;
  }
}

/**
 * Opens route (e.g. "#/master?room=r&identity=m") of the app in its own context with the given
 * viewport and language; the console goes to artifacts/<name>.console.log on flushLog().
 */
export async function openApp(browser, baseURL, route, { name, artifacts, lang = 'en', viewport = { width: 1320, height: 860 }, token }) {
  const context = await browser.newContext({ viewport, permissions: ['camera', 'microphone'] });
  await context.addInitScript((l) => localStorage.setItem('classcast.lang', l), lang);
  // A token handed over as the join page does (its "paste a token" field).
  if (token) await context.addInitScript((tok) => sessionStorage.setItem('classcast.join', JSON.stringify({ token: tok })), token);
  const page = await context.newPage();
  const lines = [];
  page.on('console', (msg) => lines.push(`[${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => lines.push(`[pageerror] ${err.stack ?? err.message}`));
  await page.goto(`${baseURL}/${route}`);
  const { writeFile } = await import('node:fs/promises');
  return {
    page,
    name,
    errors: () => lines.filter((l) => l.startsWith('[pageerror]')),
    flushLog: () => writeFile(join(artifacts, `${name}.console.log`), `${lines.join('\n')}\n`),
    screenshot: (label) => page.screenshot({ path: join(artifacts, `${name}${label ? `-${label}` : ''}.png`) }),
    close: () => context.close(),
  };
}

/** Waits until the page joined its room (window.ccApp.ready). */
export async function waitJoined(app, timeoutMs = 30_000) {
  await app.page.waitForFunction(() => window.ccApp?.ready === true, null, { timeout: timeoutMs });
}

/**
 * Layout check run in the page: every selector must match a visible element with a non-zero box
 * inside the viewport's width, and the boxes of the listed groups must not overlap. Returns a list
 * of problems (empty when fine) and the boxes. fitHeight: the regions must also lie within the
 * viewport's height (pages made to fit the screen without scrolling).
 */
export async function layoutProblems(page, regions, disjointGroups, { fitHeight = false } = {}) {
  return page.evaluate(
    ({ regions, disjointGroups, fitHeight }) => {
      const problems = [];
      const boxes = {};
      for (const sel of regions) {
        const el = document.querySelector(sel);
        if (!el) {
          problems.push(`${sel}: missing`);
          continue;
        }
        const r = el.getBoundingClientRect();
        boxes[sel] = { x: Math.round(r.x), y: Math.round(r.y), w: Math.round(r.width), h: Math.round(r.height) };
        if (r.width < 2 || r.height < 2) problems.push(`${sel}: empty box ${r.width}x${r.height}`);
        if (r.right > window.innerWidth + 1 || r.left < -1) problems.push(`${sel}: outside the viewport horizontally (${r.left}..${r.right} of ${window.innerWidth})`);
        if (fitHeight && (r.bottom > window.innerHeight + 1 || r.top < -1)) problems.push(`${sel}: outside the viewport vertically (${Math.round(r.top)}..${Math.round(r.bottom)} of ${window.innerHeight})`);
        if (getComputedStyle(el).visibility === 'hidden') problems.push(`${sel}: hidden`);
      }
      for (const group of disjointGroups) {
        for (let i = 0; i < group.length; i++) {
          for (let j = i + 1; j < group.length; j++) {
            const a = document.querySelector(group[i])?.getBoundingClientRect();
            const b = document.querySelector(group[j])?.getBoundingClientRect();
            if (!a || !b) continue;
            const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
            const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
            if (w > 1 && h > 1) problems.push(`${group[i]} overlaps ${group[j]} by ${Math.round(w)}x${Math.round(h)}`);
          }
        }
      }
      if (document.documentElement.scrollWidth > window.innerWidth + 1) {
        problems.push(`horizontal scrolling: page is ${document.documentElement.scrollWidth}px wide in a ${window.innerWidth}px viewport`);
      }
      return { problems, boxes };
    },
    { regions, disjointGroups, fitHeight },
  );
}

/** Sizes of the videos in the page matching selector (videoWidth 0 = nothing decoded). */
export function videoSizes(page, selector) {
  return page.evaluate((sel) => [...document.querySelectorAll(sel)].map((v) => ({ w: v.videoWidth, h: v.videoHeight, t: v.currentTime })), selector);
}
