// Diagnostic, not part of CI: a teacher publishes simulcast from Chromium, three students subscribe
// at 1280x720; every 2 s each student's inbound video counters are printed, to see whether decoding
// stalls while the SFU probes. Run: node --test experiments/freeze.exp.mjs (after npm run build).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchChromium, openTestPage } from '../lib/chromium.mjs';
import { findOrBuildClasscast, mintToken, startServer } from '../lib/classcast.mjs';
import { artifactsDir, pageDir } from '../lib/paths.mjs';
import { serveStatic } from '../lib/static.mjs';

const SECONDS = Number(process.env.FREEZE_SECONDS ?? 60);
const STUDENTS = Number(process.env.FREEZE_STUDENTS ?? 3);

test('freeze diagnostics', { timeout: 600_000 }, async (t) => {
  const classcast = await findOrBuildClasscast();
  const artifacts = artifactsDir('freeze');
  const extra = process.env.FREEZE_SERVER_ARGS ? process.env.FREEZE_SERVER_ARGS.split(' ') : [];
  const server = await startServer(classcast.bin, { logFile: join(artifacts, 'server.log'), extraArgs: extra });
  const site = await serveStatic(pageDir);
  const browser = await launchChromium();
  t.after(async () => { await browser.close(); await site.close(); await server.stop(); await classcast.dispose(); });
  const room = `freeze-${randomBytes(3).toString('hex')}`;
  const teacher = await openTestPage(browser, site.url, 'teacher', artifacts);
  await teacher.page.evaluate((o) => window.cc.join(o), { url: server.wsURL, token: await mintToken(classcast.bin, { room, identity: 'teacher' }), publish: true });
  const students = [];
  for (let i = 0; i < STUDENTS; i++) {
    const s = await openTestPage(browser, site.url, `student${i}`, artifacts);
    await s.page.evaluate((o) => window.cc.join(o), { url: server.wsURL, token: await mintToken(classcast.bin, { room, identity: `student${i}`, canPublish: false }), publish: false });
    students.push(s);
  }
  await sleep(2000);
  for (const s of students) await s.page.evaluate(() => window.cc.setVideoDimensions(1280, 720));
  const keys = ['framesReceived', 'framesDecoded', 'framesDropped', 'keyFramesDecoded', 'frameWidth', 'packetsReceived', 'packetsLost', 'nackCount', 'pliCount', 'firCount', 'freezeCount', 'retransmittedPacketsReceived'];
  console.log(`t   student ${keys.join(' ')}`);
  for (let sec = 0; sec < SECONDS; sec += 2) {
    for (const [i, s] of students.entries()) {
      const v = await s.page.evaluate(() => window.cc.rawVideoStats());
      console.log(`${sec} s${i} ${keys.map((k) => `${k.slice(0, 8)}=${v?.[k] ?? '-'}`).join(' ')}`);
    }
    await sleep(2000);
  }
  await teacher.screenshot('end');
});
