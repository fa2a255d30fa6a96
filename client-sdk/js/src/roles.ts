// Roles from participant attributes (set by the token), with the contract's fallbacks for plain
// LiveKit tokens that carry none.
import { Attr, ROLES, type Role, type RoomMode } from './protocol';

export interface ParticipantLike {
  identity: string;
  name?: string;
  attributes?: Readonly<Record<string, string>>;
}

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

/**
 * The participant's role. A token without `classcast.role` is a meeting participant in meeting
 * rooms and a classroom display (its own classroom) in lesson rooms.
 */
export function roleOf(p: ParticipantLike, mode: RoomMode = 'lesson'): Role {
  const r = p.attributes?.[Attr.Role];
  if (isRole(r)) return r;
  return mode === 'meeting' ? 'meeting_participant' : 'classroom_display';
}

/** Whether the token carried an explicit role (false: the fallback applies). */
export function hasExplicitRole(p: ParticipantLike): boolean {
  return isRole(p.attributes?.[Attr.Role]);
}

/** The classroom a remote teacher or display belongs to (identity for role-less tokens). */
export function classroomOf(p: ParticipantLike): string | undefined {
  const c = p.attributes?.[Attr.Classroom];
  if (c) return c;
  const r = p.attributes?.[Attr.Role];
  if (!isRole(r)) return p.identity;
  return r === 'remote_teacher' || r === 'classroom_display' ? p.identity : undefined;
}

export function classroomNameOf(p: ParticipantLike): string {
  return p.attributes?.[Attr.ClassroomName] || p.name || classroomOf(p) || p.identity;
}

/** Roles that may run a lesson or a meeting (stage, mute, chapters, lesson start/end). */
export function isHost(role: Role): boolean {
  return role === 'master_teacher' || role === 'admin';
}

/** Roles that belong to a classroom. */
export function isClassroomRole(role: Role): boolean {
  return role === 'remote_teacher' || role === 'classroom_display';
}

/** Roles that may draw on the whiteboard in a room of this mode. */
export function mayDraw(role: Role, mode: RoomMode): boolean {
  if (mode === 'meeting') return role !== 'observer';
  return isHost(role);
}

/** Hidden roles never show up as tiles. */
export function isHidden(role: Role): boolean {
  return role === 'admin' || role === 'observer';
}
