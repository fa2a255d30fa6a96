// HTTP APIs of the classcast server: dev tokens, RoomService (Twirp JSON), the recordings library
// and camera attachments. Each returns typed data or throws ApiError with the HTTP status.
import type { Role } from '@classcast/classroom';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJSON<T>(res: Response, what: string): Promise<T> {
  const body = await res.text();
  if (!res.ok) throw new ApiError(res.status, `${what}: HTTP ${res.status}${body ? `: ${body.trim().slice(0, 200)}` : ''}`);
  try {
    return JSON.parse(body) as T;
  } catch {
    throw new ApiError(res.status, `${what}: not JSON`);
  }
}

export interface DevToken {
  token: string;
  url: string;
}

export interface DevTokenRequest {
  room?: string;
  identity: string;
  name?: string;
  role?: Role;
  classroom?: string;
  classroomName?: string;
  admin?: boolean;
}

/** The signaling URL of the server that served this page. */
export function defaultServerURL(): string {
  if (location.protocol !== 'http:' && location.protocol !== 'https:') return 'ws://127.0.0.1:7880';
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
}

/**
 * GET /api/dev-token (serve --dev only). role/classroom map to the token attributes of
 * `classcast token --role`; a server that ignores them still gives a working plain token.
 */
export async function fetchDevToken(r: DevTokenRequest): Promise<DevToken> {
  const q = new URLSearchParams({ identity: r.identity });
  if (r.room) q.set('room', r.room);
  if (r.name) q.set('name', r.name);
  if (r.role) q.set('role', r.role);
  if (r.classroom) q.set('classroom', r.classroom);
  if (r.classroomName) q.set('classroom_name', r.classroomName);
  if (r.admin) q.set('admin', '1');
  const res = await fetch(`/api/dev-token?${q}`);
  if (!(res.headers.get('content-type') ?? '').includes('json')) {
    const body = (await res.text()).trim();
    if (!res.ok) throw new ApiError(res.status, `dev token: HTTP ${res.status}: ${body}`);
    return { token: body, url: defaultServerURL() };
  }
  const v = await readJSON<{ token: string; url?: string }>(res, 'dev token');
  return { token: v.token, url: v.url || defaultServerURL() };
}

// ---- RoomService (Twirp, JSON) ----

export interface RoomInfo {
  sid: string;
  name: string;
  numParticipants: number;
  creationTime: number;
  metadata: string;
}
export interface TrackInfo {
  sid: string;
  type: string;
  source: string;
  muted: boolean;
  width: number;
  height: number;
}
export interface ParticipantInfo {
  sid: string;
  identity: string;
  name: string;
  attributes: Record<string, string>;
  tracks: TrackInfo[];
  joinedAt: number;
}

type Loose = Record<string, unknown>;
// Twirp answers with proto (snake_case) or JSON (camelCase) names depending on the server.
const pick = (o: Loose, snake: string, camel: string): unknown => o[snake] ?? o[camel];
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) || 0 : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

async function twirp<T>(method: string, token: string, body: unknown): Promise<T> {
  const res = await fetch(`/twirp/livekit.RoomService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return readJSON<T>(res, method);
}

export async function listRooms(token: string): Promise<RoomInfo[]> {
  const v = await twirp<{ rooms?: Loose[] }>('ListRooms', token, {});
  return (v.rooms ?? []).map((r) => ({
    sid: str(r.sid),
    name: str(r.name),
    numParticipants: num(pick(r, 'num_participants', 'numParticipants')),
    creationTime: num(pick(r, 'creation_time', 'creationTime')),
    metadata: str(r.metadata),
  }));
}

export async function listParticipants(token: string, room: string): Promise<ParticipantInfo[]> {
  const v = await twirp<{ participants?: Loose[] }>('ListParticipants', token, { room });
  return (v.participants ?? []).map((p) => ({
    sid: str(p.sid),
    identity: str(p.identity),
    name: str(p.name),
    attributes: (p.attributes as Record<string, string>) ?? {},
    joinedAt: num(pick(p, 'joined_at', 'joinedAt')),
    tracks: ((p.tracks as Loose[]) ?? []).map((tr) => ({
      sid: str(tr.sid),
      type: str(tr.type),
      source: str(tr.source),
      muted: Boolean(tr.muted),
      width: num(tr.width),
      height: num(tr.height),
    })),
  }));
}

export function removeParticipant(token: string, room: string, identity: string): Promise<unknown> {
  return twirp('RemoveParticipant', token, { room, identity });
}

// ---- recordings (/api/assets, /media) ----

export interface Asset {
  id: string;
  room?: string;
  course?: string;
  title?: string;
  teacher?: string;
  classroom?: string;
  date: string;
  /** Nanoseconds (Go time.Duration). */
  duration: number;
  status: string;
  chapters?: { title: string; start: number; end: number }[];
}

export async function listAssets(token: string, q = ''): Promise<Asset[]> {
  const query = new URLSearchParams({ limit: '100' });
  if (q) query.set('q', q);
  const res = await fetch(`/api/assets?${query}`, { headers: { authorization: `Bearer ${token}` } });
  const v = await readJSON<{ assets?: Asset[] }>(res, 'recordings');
  return v.assets ?? [];
}

export function assetPlaylist(id: string): string {
  return `/media/${encodeURIComponent(id)}/master.m3u8`;
}

// ---- camera attachments (/api/cameras) ----

export interface Camera {
  id?: string;
  name: string;
  url: string;
  room?: string;
  state?: string;
}

export async function listCameras(token: string): Promise<Camera[]> {
  const res = await fetch('/api/cameras', { headers: { authorization: `Bearer ${token}` } });
  const v = await readJSON<{ cameras?: Camera[] } | Camera[]>(res, 'cameras');
  return Array.isArray(v) ? v : (v.cameras ?? []);
}

export async function addCamera(token: string, cam: Camera): Promise<void> {
  const res = await fetch('/api/cameras', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(cam),
  });
  await readJSON<unknown>(res, 'add camera').catch((err: unknown) => {
    if (err instanceof ApiError && err.message.endsWith('not JSON') && res.ok) return;
    throw err;
  });
}

// ---- recording (Egress Twirp: classcast records per track into the asset library) ----

export interface EgressInfo {
  egressId: string;
  roomName: string;
  /** EGRESS_STARTING, EGRESS_ACTIVE, EGRESS_ENDING, EGRESS_COMPLETE, EGRESS_FAILED… */
  status: string;
}

const EGRESS_STATUS = ['EGRESS_STARTING', 'EGRESS_ACTIVE', 'EGRESS_ENDING', 'EGRESS_COMPLETE', 'EGRESS_FAILED', 'EGRESS_ABORTED', 'EGRESS_LIMIT_REACHED'];

function egressFrom(v: Loose): EgressInfo {
  const st = pick(v, 'status', 'status');
  return {
    egressId: str(pick(v, 'egress_id', 'egressId')),
    roomName: str(pick(v, 'room_name', 'roomName')),
    status: typeof st === 'number' ? (EGRESS_STATUS[st] ?? String(st)) : str(st) || 'EGRESS_STARTING',
  };
}

async function egress<T>(method: string, token: string, body: unknown): Promise<T> {
  const res = await fetch(`/twirp/livekit.Egress/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return readJSON<T>(res, method);
}

export async function startRoomRecording(token: string, room: string): Promise<EgressInfo> {
  return egressFrom(await egress<Loose>('StartRoomCompositeEgress', token, { room_name: room }));
}

export async function stopRecording(token: string, egressId: string): Promise<EgressInfo> {
  return egressFrom(await egress<Loose>('StopEgress', token, { egress_id: egressId }));
}

/** Active recordings (all rooms, or one). */
export async function activeRecordings(token: string, room?: string): Promise<EgressInfo[]> {
  const v = await egress<{ items?: Loose[] }>('ListEgress', token, room ? { room_name: room, active: true } : { active: true });
  return (v.items ?? []).map(egressFrom).filter((e) => e.status === 'EGRESS_STARTING' || e.status === 'EGRESS_ACTIVE');
}

/** HLS and file URLs carry ?access_token= (the server accepts it in dev) for players without headers. */
export function withToken(url: string, token: string): string {
  return token ? `${url}${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}` : url;
}
