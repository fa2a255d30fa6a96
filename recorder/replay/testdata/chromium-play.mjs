// Plays a recording in Debian's Chromium and prints what it saw as JSON.
// Run by TestWebMPlaysInChromium: node chromium-play.mjs <play.webm URL> <master.m3u8 URL>.
// It drives the browser through tests/browser's playwright-core and flags.
import { launchChromium } from '../../../tests/browser/lib/chromium.mjs';

const [webmURL] = process.argv.slice(2);
const WAIT_MS = 60_000; // generous: the machine is shared and slow

const browser = await launchChromium();
const out = {};
try {
  const page = await browser.newPage();
  page.on('console', (m) => process.stderr.write(`[console] ${m.text()}\n`));
  await page.setContent('<video playsinline></video>');
  // What Chromium accepts at all: MSE (hls.js) and <video src>.
  out.support = await page.evaluate(() => Object.fromEntries([
    'video/mp4; codecs="vp8"', 'video/mp4; codecs="vp08.00.10.08"', 'video/mp4; codecs="vp09.00.10.08"',
    'video/webm; codecs="vp8, opus"',
  ].map((t) => [t, { mse: MediaSource.isTypeSupported(t), canPlay: document.createElement('video').canPlayType(t) }])));
  await page.evaluate((src) => {
    const v = document.querySelector('video');
    v.src = src;
    v.play().catch((e) => console.log(`play(): ${e}`));
  }, webmURL);
  const state = () => page.evaluate(() => {
    const v = document.querySelector('video');
    return {
      t: v.currentTime, w: v.videoWidth, h: v.videoHeight, duration: v.duration, error: v.error ? `${v.error.code} ${v.error.message}` : null,
      frames: v.webkitDecodedFrameCount, audioBytes: v.webkitAudioDecodedByteCount, seekable: v.seekable.length ? v.seekable.end(0) : 0,
    };
  });
  const until = async (what, ok) => {
    try {
      await page.waitForFunction(ok, null, { timeout: WAIT_MS, polling: 100 });
    } catch (err) {
      throw new Error(`${what}: ${err.message}; state ${JSON.stringify(await state())}`);
    }
    return state();
  };
  const stopOnError = (cond) => `(() => { const v = document.querySelector('video'); return v.error !== null || (${cond}); })()`;
  out.played = await until('play past 2 s', stopOnError('v.currentTime > 2 && v.videoWidth > 0'));
  // Seek back, as a viewer scrubbing the timeline does (a Range request).
  await page.evaluate(() => {
    const v = document.querySelector('video');
    v.addEventListener('seeked', () => { window.seekedAt = v.currentTime; }, { once: true });
    v.currentTime = 0.5;
  });
  out.seeked = await until('play on after seeking to 0.5 s', stopOnError('window.seekedAt !== undefined && v.currentTime > window.seekedAt + 0.5'));
  out.seekedAt = await page.evaluate(() => window.seekedAt);
} catch (err) {
  out.failure = err.message;
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
