// A teacher publishes a simulcast camera (VP8, 1280x720 + 640x360 + 320x180) and a microphone from
// real Chromium through the real livekit-client; a student subscribes through classcast. The test
// checks that video frames are decoded and audio packets arrive, then that the SFU switches the
// student to the low layer when it asks for 320x180 and back to the high layer for 1280x720.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromiumMissing, launchChromium, openTestPage } from '../lib/chromium.mjs';
import { findOrBuildClasscast, mintToken, startServer } from '../lib/classcast.mjs';
import { artifactsDir, pageDir } from '../lib/paths.mjs';
import { serveStatic } from '../lib/static.mjs';
import { waitFor, withTimeout } from '../lib/wait.mjs';

const LOW_WIDTH = 320;
const HIGH_WIDTH = 1280;
// livekit-client keeps retrying a failed signaling connection; fail with a clear message instead.
const JOIN_TIMEOUT_MS = 30_000;

test('simulcast publish, subscribe and layer switch in Chromium', { timeout: 240_000 }, async (t) => {
  const noChromium = chromiumMissing();
  if (noChromium) {
    t.skip(noChromium);
    return;
  }
  const classcast = await findOrBuildClasscast();
  if (classcast.skip) {
    t.skip(classcast.skip);
    return;
  }

  const artifacts = artifactsDir('simulcast');
  const timeline = [];
  const cleanups = [classcast.dispose];
  t.after(async () => {
    for (const fn of cleanups.reverse()) {
      await fn().catch((err) => t.diagnostic(`cleanup: ${err.message}`));
    }
    await writeFile(join(artifacts, 'stats.json'), JSON.stringify(timeline, null, 1));
  });

  const server = await startServer(classcast.bin, { logFile: join(artifacts, 'server.log') });
  cleanups.push(server.stop);
  t.diagnostic(`classcast at ${server.httpURL} (udp ${server.udpPort}, tcp ${server.tcpPort})`);
  const health = await fetch(`${server.httpURL}/healthz`);
  assert.equal(health.status, 200, 'GET /healthz');

  const site = await serveStatic(pageDir);
  cleanups.push(site.close);
  const browser = await launchChromium();
  cleanups.push(() => browser.close());

  const room = `simulcast-${randomBytes(4).toString('hex')}`;
  const [teacherToken, studentToken] = await Promise.all([
    mintToken(classcast.bin, { room, identity: 'teacher' }),
    mintToken(classcast.bin, { room, identity: 'student', canPublish: false }),
  ]);

  const teacher = await openTestPage(browser, site.url, 'teacher', artifacts);
  const student = await openTestPage(browser, site.url, 'student', artifacts);
  for (const p of [teacher, student]) {
    cleanups.push(async () => {
      await p.flushLog();
      await p.close();
    });
  }

  const joinAs = (who, token, publish) =>
    withTimeout(
      `${who} joining ${server.wsURL} (see artifacts/simulcast/${who}.console.log and server.log)`,
      (who === 'teacher' ? teacher : student).page.evaluate((o) => window.cc.join(o), { url: server.wsURL, token, publish }),
      JOIN_TIMEOUT_MS,
    );
  await joinAs('teacher', teacherToken, true);
  await joinAs('student', studentToken, false);

  const sample = async () => {
    const [sub, layers] = await Promise.all([
      student.page.evaluate(() => window.cc.subscriberStats()),
      teacher.page.evaluate(() => window.cc.publisherLayers()),
    ]);
    const s = { t: Date.now(), video: sub.video, audio: sub.audio, layers };
    timeline.push(s);
    return s;
  };

  // Media flows: decoded video frames and received audio packets, both still growing.
  const first = await waitFor(
    'the student to decode video and receive audio',
    sample,
    (s) => s.video?.framesDecoded > 0 && s.audio?.packetsReceived > 0,
  );
  await sleep(1000);
  const second = await sample();
  assert.ok(second.video.framesDecoded > first.video.framesDecoded, 'video frames keep being decoded');
  assert.ok(second.audio.packetsReceived > first.audio.packetsReceived, 'audio packets keep arriving');

  // The publisher really sends three layers (bandwidth ramp-up starts small, so wait for it).
  await waitFor(
    'the teacher to send all three simulcast layers',
    sample,
    (s) => s.layers.length === 3 && s.layers.every((l) => l.framesSent > 0),
  );

  // Ask for a thumbnail: the SFU must switch the student to the low layer.
  await student.page.evaluate(() => window.cc.setVideoDimensions(320, 180));
  const low = await waitFor(
    `received width <= ${LOW_WIDTH} after requesting 320x180`,
    sample,
    (s) => s.video?.frameWidth > 0 && s.video.frameWidth <= LOW_WIDTH,
  );
  t.diagnostic(`low layer: ${low.video.frameWidth}x${low.video.frameHeight}`);
  await teacher.screenshot('low');
  await student.screenshot('low');

  // And back to full size: the SFU must forward the high layer again, and with dynacast it must
  // first ask the teacher to resume it (the teacher's "f" encoding shows 0x0 while paused).
  await student.page.evaluate(() => window.cc.setVideoDimensions(1280, 720));
  const high = await waitFor(
    `received width >= ${HIGH_WIDTH} after requesting 1280x720`,
    sample,
    (s) => s.video?.frameWidth >= HIGH_WIDTH,
    { timeoutMs: 45_000 },
  );
  t.diagnostic(`high layer: ${high.video.frameWidth}x${high.video.frameHeight}`);
  await sleep(500);
  const after = await sample();
  assert.ok(after.video.framesDecoded > high.video.framesDecoded, 'video keeps decoding on the high layer');

  await teacher.screenshot('high');
  await student.screenshot('high');
  await student.page.evaluate(() => window.cc.leave());
  await teacher.page.evaluate(() => window.cc.leave());
  assert.equal(server.races(), 0, 'the race detector reported data races (artifacts/simulcast/server.log)');
});
