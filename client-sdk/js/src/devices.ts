// Device and connection checks for a join page: list devices, preview a camera, meter a
// microphone, and measure the path to the server (/rtc/validate and a short test join).
import {
  ConnectionQuality,
  createLocalAudioTrack,
  createLocalVideoTrack,
  Room,
  RoomEvent,
  type LocalAudioTrack,
  type LocalVideoTrack,
  type VideoResolution,
} from 'livekit-client';

export interface DeviceList {
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
}

/** Lists devices; with askPermission, first opens camera and mic briefly so labels are filled in. */
export async function listDevices(askPermission = true): Promise<DeviceList> {
  const md = navigator.mediaDevices;
  if (!md?.enumerateDevices) return { cameras: [], microphones: [], speakers: [] };
  let all = await md.enumerateDevices();
  if (askPermission && all.some((d) => !d.label)) {
    try {
      const s = await md.getUserMedia({ audio: true, video: true });
      for (const t of s.getTracks()) t.stop();
    } catch {
      // No permission or no device: list what is visible without labels.
    }
    all = await md.enumerateDevices();
  }
  return {
    cameras: all.filter((d) => d.kind === 'videoinput'),
    microphones: all.filter((d) => d.kind === 'audioinput'),
    speakers: all.filter((d) => d.kind === 'audiooutput'),
  };
}

/** Opens a camera for preview. Stop the track when done. */
export function testCamera(deviceId?: string, resolution?: VideoResolution): Promise<LocalVideoTrack> {
  return createLocalVideoTrack({ deviceId, resolution });
}

/**
 * Measures a microphone's level (0..1, RMS scaled so speech sits around 0.3–0.7) several times a
 * second through an AnalyserNode.
 */
export class MicLevelMeter {
  private ctx?: AudioContext;
  private timer?: ReturnType<typeof setInterval>;
  track?: LocalAudioTrack;
  /** Highest level seen since start (tells "the mic works" even between words). */
  peak = 0;

  async start(onLevel: (level: number) => void, deviceId?: string, intervalMs = 80): Promise<void> {
    this.stop();
    this.track = await createLocalAudioTrack({ deviceId, echoCancellation: true, noiseSuppression: true });
    this.ctx = new AudioContext();
    const src = this.ctx.createMediaStreamSource(new MediaStream([this.track.mediaStreamTrack]));
    const analyser = this.ctx.createAnalyser();
    analyser.fftSize = 1024;
    src.connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    this.peak = 0;
    this.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const level = Math.min(1, Math.sqrt(sum / buf.length) * 4);
      if (level > this.peak) this.peak = level;
      onLevel(level);
    }, intervalMs);
    void this.ctx.resume().catch(() => undefined);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    void this.ctx?.close().catch(() => undefined);
    this.ctx = undefined;
    this.track?.stop();
    this.track = undefined;
  }
}

export interface ConnectivityResult {
  /** GET /rtc/validate: reachability of the signaling server and token validity. */
  validate: { ok: boolean; status: number; ms: number; message: string };
  /** A short real join (signaling + ICE + data channel). Absent when not asked for. */
  join?: { ok: boolean; ms: number; quality?: ConnectionQuality; error?: string };
  ok: boolean;
}

/** ws(s)://host[/path] → http(s)://host[/path]/rtc/validate?access_token=… */
export function validateURL(wsURL: string, token: string): string {
  const u = new URL(wsURL);
  u.protocol = u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol;
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/rtc/validate`;
  u.search = new URLSearchParams({ access_token: token }).toString();
  return u.toString();
}

/**
 * Checks the path to the server. testJoinToken, when given, is used for a real join that is left
 * again at once: use a token with its own identity (e.g. "<you>-check"), or joining with the real
 * one later replaces the test participant.
 */
export async function checkConnectivity(
  url: string,
  token: string,
  opts: { testJoinToken?: string; timeoutMs?: number } = {},
): Promise<ConnectivityResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const t0 = performance.now();
  let validate: ConnectivityResult['validate'];
  try {
    const res = await fetch(validateURL(url, token), { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.text()).trim();
    validate = { ok: res.ok, status: res.status, ms: Math.round(performance.now() - t0), message: body.slice(0, 200) };
  } catch (err) {
    validate = { ok: false, status: 0, ms: Math.round(performance.now() - t0), message: String(err) };
  }
  const result: ConnectivityResult = { validate, ok: validate.ok };
  if (opts.testJoinToken) {
    const room = new Room({ adaptiveStream: false, dynacast: false });
    const t1 = performance.now();
    try {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        room.connect(url, opts.testJoinToken, { autoSubscribe: false }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      const ms = Math.round(performance.now() - t1);
      // The server reports connection quality shortly after joining; wait briefly for it.
      const quality = await new Promise<ConnectionQuality>((resolve) => {
        const done = (q: ConnectionQuality) => resolve(q);
        room.localParticipant.once('connectionQualityChanged', done);
        setTimeout(() => resolve(room.localParticipant.connectionQuality), 1500);
      });
      result.join = { ok: true, ms, quality };
    } catch (err) {
      result.join = { ok: false, ms: Math.round(performance.now() - t1), error: String(err) };
    } finally {
      room.removeAllListeners(RoomEvent.Disconnected);
      await room.disconnect().catch(() => undefined);
    }
    result.ok = result.ok && result.join.ok;
  }
  return result;
}
