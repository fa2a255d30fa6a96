// The classcast binary under test: find or build it, run `classcast serve --dev` on ephemeral
// ports, and mint tokens with `classcast token`.
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { repoRoot } from './paths.mjs';

const run = promisify(execFile);

/** Dev-mode credentials of `classcast serve --dev`. */
export const DEV_API_KEY = 'devkey';
export const DEV_API_SECRET = 'secret';

// `classcast: listening http=127.0.0.1:NNNN udp=NNNN tcp=NNNN`, printed on stderr once ready.
const READY_LINE = /classcast: listening http=(\S+) udp=(\d+) tcp=(\d+)/;

/**
 * Returns {bin, dispose} for a usable classcast binary (dispose removes a binary built here), or
 * {skip} with the reason it is not available.
 * CLASSCAST_BIN names a prebuilt binary; otherwise ./cmd/classcast is built into a temporary
 * directory with the race detector (CLASSCAST_RACE=0 turns it off). A -race build reuses the
 * packages `go test -race ./...` just compiled in `make test`, and lets the browser tests catch data
 * races on the real media path (see startServer's races()).
 */
export async function findOrBuildClasscast() {
  const fromEnv = process.env.CLASSCAST_BIN;
  if (fromEnv) {
    return existsSync(fromEnv)
      ? { bin: fromEnv, dispose: async () => {} }
      : { skip: `CLASSCAST_BIN=${fromEnv} does not exist` };
  }
  const cmdDir = join(repoRoot, 'cmd', 'classcast');
  if (!existsSync(cmdDir) || !readdirSync(cmdDir).some((f) => f.endsWith('.go'))) {
    return { skip: 'cmd/classcast has no Go files yet: nothing to test against' };
  }
  const dir = await mkdtemp(join(tmpdir(), 'classcast-browser-'));
  const out = join(dir, 'classcast');
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const race = process.env.CLASSCAST_RACE === '0' ? [] : ['-race'];
    await run('go', ['build', ...race, '-o', out, './cmd/classcast'], { cwd: repoRoot, maxBuffer: 16 << 20 });
  } catch (err) {
    await dispose();
    return { skip: `classcast does not build: ${(err.stderr || err.message).trim()}` };
  }
  return { bin: out, dispose };
}

/**
 * Starts `classcast serve --dev` on ports chosen by the kernel and resolves once it printed its
 * ready line. All its output goes to logFile. Call stop() when done.
 */
export async function startServer(bin, { logFile, readyTimeoutMs = 30_000, cwd, extraArgs = [] } = {}) {
  const args = ['serve', '--dev', '--bind', '127.0.0.1', '--port', '0', '--udp-port', '0', '--tcp-port', '0', '--rtsp-port', '0', '--cascade-addr', '127.0.0.1:0', ...extraArgs];
  // cwd: where relative paths land (the recorder's default data dir is ./data).
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
  const log = logFile ? createWriteStream(logFile) : undefined;
  const tail = [];
  let races = 0;
  const remember = (line) => {
    log?.write(`${line}\n`);
    if (line.includes('WARNING: DATA RACE')) races++;
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  createInterface({ input: child.stdout }).on('line', remember);
  const stderr = createInterface({ input: child.stderr });

  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve) => {
    stderr.on('line', (line) => {
      remember(line);
      const m = READY_LINE.exec(line);
      if (m) resolve({ http: m[1], udpPort: Number(m[2]), tcpPort: Number(m[3]) });
    });
  });

  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ timeout: true }), readyTimeoutMs);
  });
  const first = await Promise.race([ready, exited.then((e) => ({ exited: e })), timeout]);
  clearTimeout(timer);

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    await new Promise((resolve) => (log ? log.end(resolve) : resolve()));
  };

  if (!first.http) {
    await stop();
    const why = first.exited
      ? `exited (code ${first.exited.code}, signal ${first.exited.signal})`
      : `printed no ready line within ${readyTimeoutMs} ms`;
    throw new Error(`classcast ${args.join(' ')} ${why}; last output:\n${tail.join('\n')}`);
  }
  return {
    httpURL: `http://${first.http}`,
    wsURL: `ws://${first.http}`,
    udpPort: first.udpPort,
    tcpPort: first.tcpPort,
    exited,
    stop,
    /** Data races the race detector reported so far (0 for a binary built without -race). */
    races: () => races,
  };
}

/** Mints a JWT for room/identity with `classcast token` using the dev credentials. */
export async function mintToken(bin, { room, identity, canPublish = true, canSubscribe = true, validFor = '1h' }) {
  const { stdout } = await run(bin, [
    'token',
    '--api-key', DEV_API_KEY,
    '--api-secret', DEV_API_SECRET,
    '--room', room,
    '--identity', identity,
    `--can-publish=${canPublish}`,
    `--can-subscribe=${canSubscribe}`,
    '--valid-for', validFor,
  ]);
  const token = stdout.trim();
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) {
    throw new Error(`classcast token printed something that is not a JWT: ${JSON.stringify(stdout)}`);
  }
  return token;
}
