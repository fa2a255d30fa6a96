// Test page driven by the node tests through page.evaluate(window.cc.…). It holds one livekit-client
// Room and reports what the browser's WebRTC stack really sends and receives (getStats), so the
// tests assert on decoded frames and resolutions rather than on signaling messages.
import {
  Room,
  RoomEvent,
  Track,
  VideoPresets,
  type RemoteTrackPublication,
  type RoomOptions,
} from 'livekit-client';

export interface JoinOptions {
  url: string;
  token: string;
  /** Publish the fake camera (simulcast VP8, 720p + 360p + 180p layers) and fake microphone. */
  publish: boolean;
}

export interface InboundVideo {
  trackSid: string;
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  bytesReceived: number;
}

export interface InboundAudio {
  trackSid: string;
  packetsReceived: number;
  bytesReceived: number;
}

export interface SubscriberStats {
  video?: InboundVideo;
  audio?: InboundAudio;
}

export interface SenderLayer {
  rid: string;
  frameWidth: number;
  frameHeight: number;
  framesSent: number;
}

let room: Room | undefined;
const events: string[] = [];

function note(text: string): void {
  const line = `${new Date().toISOString().slice(11, 23)} ${text}`;
  events.push(line);
  const log = document.getElementById('log');
  if (log) {
    log.textContent = events.slice(-12).join('\n');
  }
}

function mustRoom(): Room {
  if (!room) {
    throw new Error('not joined');
  }
  return room;
}

function remoteCamera(): RemoteTrackPublication | undefined {
  for (const p of mustRoom().remoteParticipants.values()) {
    const pub = p.getTrackPublication(Track.Source.Camera);
    if (pub) {
      return pub;
    }
  }
  return undefined;
}

function remoteMicrophone(): RemoteTrackPublication | undefined {
  for (const p of mustRoom().remoteParticipants.values()) {
    const pub = p.getTrackPublication(Track.Source.Microphone);
    if (pub) {
      return pub;
    }
  }
  return undefined;
}

async function inbound(pub: RemoteTrackPublication | undefined, kind: 'audio' | 'video'): Promise<RTCStats | undefined> {
  const report = await pub?.track?.getRTCStatsReport();
  let found: RTCStats | undefined;
  report?.forEach((s: RTCStats & { kind?: string }) => {
    if (s.type === 'inbound-rtp' && s.kind === kind) {
      found = s;
    }
  });
  return found;
}

async function join(opts: JoinOptions): Promise<void> {
  const options: RoomOptions = {
    // The test picks layers itself through setVideoDimensions; adaptive stream would override it
    // with the rendered element size.
    adaptiveStream: false,
    dynacast: true,
    publishDefaults: {
      simulcast: true,
      videoCodec: 'vp8',
      videoSimulcastLayers: [VideoPresets.h180, VideoPresets.h360],
      // Keep layer sizes fixed under CPU load so resolution checks measure the SFU's choice.
      degradationPreference: 'maintain-resolution',
    },
    videoCaptureDefaults: { resolution: VideoPresets.h720.resolution },
  };
  const r = new Room(options);
  room = r;
  r.on(RoomEvent.TrackSubscribed, (track, pub, participant) => {
    note(`subscribed ${track.kind} ${pub.trackSid} from ${participant.identity}`);
    const el = track.attach();
    el.id = `remote-${track.kind}`;
    if (el instanceof HTMLVideoElement) {
      el.muted = true;
    }
    document.getElementById('media')?.append(el);
  })
    .on(RoomEvent.ParticipantConnected, (p) => note(`participant connected ${p.identity}`))
    .on(RoomEvent.TrackPublished, (pub, p) => note(`track published ${pub.kind} ${pub.trackSid} by ${p.identity}`))
    .on(RoomEvent.Disconnected, (reason) => note(`disconnected ${String(reason)}`))
    .on(RoomEvent.Reconnecting, () => note('reconnecting'))
    .on(RoomEvent.Reconnected, () => note('reconnected'));

  await r.connect(opts.url, opts.token);
  note(`connected to ${r.name} as ${r.localParticipant.identity}`);
  document.getElementById('title')!.textContent = `${r.localParticipant.identity} in ${r.name}`;
  if (opts.publish) {
    await r.localParticipant.enableCameraAndMicrophone();
    const cam = r.localParticipant.getTrackPublication(Track.Source.Camera)?.videoTrack;
    if (cam) {
      const el = cam.attach();
      el.id = 'local-video';
      document.getElementById('media')?.append(el);
    }
    note('published camera and microphone');
  }
}

async function subscriberStats(): Promise<SubscriberStats> {
  const out: SubscriberStats = {};
  const cam = remoteCamera();
  const v = (await inbound(cam, 'video')) as
    | (RTCStats & { framesDecoded?: number; frameWidth?: number; frameHeight?: number; bytesReceived?: number })
    | undefined;
  if (cam && v) {
    out.video = {
      trackSid: cam.trackSid,
      framesDecoded: v.framesDecoded ?? 0,
      frameWidth: v.frameWidth ?? 0,
      frameHeight: v.frameHeight ?? 0,
      bytesReceived: v.bytesReceived ?? 0,
    };
  }
  const mic = remoteMicrophone();
  const a = (await inbound(mic, 'audio')) as (RTCStats & { packetsReceived?: number; bytesReceived?: number }) | undefined;
  if (mic && a) {
    out.audio = { trackSid: mic.trackSid, packetsReceived: a.packetsReceived ?? 0, bytesReceived: a.bytesReceived ?? 0 };
  }
  return out;
}

// rawVideoStats is the whole inbound-rtp record of the remote camera (diagnostics: NACK, PLI,
// freeze and frame counters as Chromium reports them).
async function rawVideoStats(): Promise<Record<string, unknown> | undefined> {
  return (await inbound(remoteCamera(), 'video')) as Record<string, unknown> | undefined;
}

async function publisherLayers(): Promise<SenderLayer[]> {
  const cam = mustRoom().localParticipant.getTrackPublication(Track.Source.Camera)?.videoTrack;
  const stats = (await cam?.getSenderStats()) ?? [];
  return stats.map((s) => ({
    rid: s.rid ?? '',
    frameWidth: s.frameWidth ?? 0,
    frameHeight: s.frameHeight ?? 0,
    framesSent: s.framesSent ?? 0,
  }));
}

function setVideoDimensions(width: number, height: number): void {
  const cam = remoteCamera();
  if (!cam) {
    throw new Error('no remote camera publication to size');
  }
  cam.setVideoDimensions({ width, height });
  note(`requested ${width}x${height} for ${cam.trackSid}`);
}

async function leave(): Promise<void> {
  await room?.disconnect();
  room = undefined;
}

const api = { join, subscriberStats, rawVideoStats, publisherLayers, setVideoDimensions, leave, events };
export type Harness = typeof api;

declare global {
  interface Window {
    cc: Harness;
  }
}
window.cc = api;
