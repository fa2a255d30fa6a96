// Joining: a token (pasted on the join page, else a dev token from the server) and a Classroom
// over a livekit Room with the options each page wants.
import { Classroom, type Role } from '@classcast/classroom';
import { RoomEvent, type RoomOptions, type VideoCodec } from 'livekit-client';

const isCodec = (c: string | null): boolean => c === 'vp8' || c === 'h264' || c === 'vp9' || c === 'av1';
import { fetchDevToken } from './api';
import { params } from './ui/dom';

export interface JoinInfo {
  room: string;
  identity: string;
  name: string;
  role: Role;
  classroom?: string;
  classroomName?: string;
}

/** Device choices and a pasted token, handed over from the join page. */
export interface JoinPrefs {
  cameraId?: string;
  micId?: string;
  token?: string;
  url?: string;
}

export function savePrefs(p: JoinPrefs): void {
  sessionStorage.setItem('classcast.join', JSON.stringify(p));
}

export function loadPrefs(): JoinPrefs {
  try {
    return JSON.parse(sessionStorage.getItem('classcast.join') ?? '{}') as JoinPrefs;
  } catch {
    return {};
  }
}

export function randomId(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Reads room/identity/name/classroom from the hash query, with defaults for role. */
export function joinInfoFromURL(role: Role, defaults: Partial<JoinInfo> = {}): JoinInfo {
  const q = params();
  const identity = q.get('identity') || defaults.identity || randomId(role === 'master_teacher' ? 'master' : 'guest');
  const classroom = q.get('classroom') || defaults.classroom || (role === 'classroom_display' || role === 'remote_teacher' ? identity : undefined);
  return {
    room: q.get('room') || defaults.room || 'lesson1',
    identity,
    name: q.get('name') || defaults.name || identity,
    role,
    classroom,
    classroomName: q.get('classroom_name') || q.get('name') || classroom,
  };
}

export async function joinClassroom(info: JoinInfo, roomOptions: RoomOptions): Promise<Classroom> {
  const prefs = loadPrefs();
  let url = prefs.url;
  let token = prefs.token;
  if (!token) {
    const dev = await fetchDevToken({
      room: info.room,
      identity: info.identity,
      name: info.name,
      role: info.role,
      classroom: info.classroom,
      classroomName: info.classroomName,
    });
    token = dev.token;
    url = url || dev.url;
  }
  const opts: RoomOptions = {
    ...roomOptions,
    // ?adaptive=0 turns adaptive stream off (diagnosing a frozen video: client or server?).
    ...(params().get('adaptive') === '0' ? { adaptiveStream: false } : {}),
    // ?codec=h264|vp9|vp8: what to publish (recordings of H.264/VP9 play in browsers through MSE).
    ...(isCodec(params().get('codec')) ? { publishDefaults: { ...roomOptions.publishDefaults, videoCodec: params().get('codec') as VideoCodec } } : {}),
    videoCaptureDefaults: { ...roomOptions.videoCaptureDefaults, deviceId: prefs.cameraId || undefined },
    audioCaptureDefaults: { ...roomOptions.audioCaptureDefaults, deviceId: prefs.micId || undefined },
  };
  const c = await Classroom.connect(url || `ws://${location.host}`, token, {
    fallbackRole: info.role,
    fallbackClassroom: info.classroom,
    mode: info.role === 'meeting_participant' ? 'meeting' : 'lesson',
    room: opts,
  });
  exposeForTests(c);
  return c;
}

declare global {
  interface Window {
    ccApp?: { classroom: Classroom; ready: boolean; videoStats: () => Promise<InboundStat[]>; audioStats: () => Promise<InboundStat[]> };
  }
}

export interface InboundStat {
  identity: string;
  source: string;
  framesDecoded?: number;
  frameWidth?: number;
  packetsReceived?: number;
  bytesReceived?: number;
}

/** window.ccApp: the live Classroom and inbound RTP stats, for the browser tests and debugging. */
function exposeForTests(c: Classroom): void {
  const stats = async (kind: 'video' | 'audio'): Promise<InboundStat[]> => {
    const out: InboundStat[] = [];
    for (const p of c.room.remoteParticipants.values()) {
      for (const pub of p.trackPublications.values()) {
        const track = pub.track;
        if (!track || track.kind !== kind) continue;
        const report = await track.getRTCStatsReport?.();
        report?.forEach((s: Record<string, unknown>) => {
          if (s.type !== 'inbound-rtp') return;
          out.push({
            identity: p.identity,
            source: pub.source,
            framesDecoded: s.framesDecoded as number | undefined,
            frameWidth: s.frameWidth as number | undefined,
            packetsReceived: s.packetsReceived as number | undefined,
            bytesReceived: s.bytesReceived as number | undefined,
          });
        });
      }
    }
    return out;
  };
  window.ccApp = { classroom: c, ready: true, videoStats: () => stats('video'), audioStats: () => stats('audio') };
  c.room.on(RoomEvent.Disconnected, () => {
    if (window.ccApp) window.ccApp.ready = false;
  });
}
