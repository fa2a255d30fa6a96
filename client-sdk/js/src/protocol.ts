// Wire types of the classroom protocol (docs/classroom-protocol.md). Everything here is plain JSON
// carried in LiveKit user data packets on the reliable channel.

/** Data packet topics. */
export const Topic = {
  Request: 'classcast.req',
  Response: 'classcast.res',
  State: 'classcast.state',
  Whiteboard: 'classcast.wb',
} as const;
export type TopicName = (typeof Topic)[keyof typeof Topic];

export type Role =
  | 'master_teacher'
  | 'remote_teacher'
  | 'classroom_display'
  | 'admin'
  | 'meeting_participant'
  | 'observer';

export const ROLES: readonly Role[] = [
  'master_teacher',
  'remote_teacher',
  'classroom_display',
  'admin',
  'meeting_participant',
  'observer',
];

/** Participant attribute keys set by the token. */
export const Attr = {
  Role: 'classcast.role',
  Classroom: 'classcast.classroom',
  ClassroomName: 'classcast.classroom_name',
  Mode: 'classcast.mode',
} as const;

export type RoomMode = 'lesson' | 'meeting';

// ---- Requests (topic classcast.req) ----

export type MediaSourceName = 'microphone' | 'camera';

/** Every request body by type; the client adds `id` and `type`. */
export interface RequestBodies {
  'question.raise': { text: string };
  'question.forward': { question_id: string };
  'question.dismiss': { question_id: string };
  'stage.add': { classroom: string };
  'stage.remove': { classroom: string };
  'participant.mute': { identity: string; source: MediaSourceName };
  'participant.request_unmute': { identity: string };
  'participant.remove': { identity: string };
  'lesson.start': Record<string, never>;
  'lesson.end': Record<string, never>;
  'chapter.mark': { title: string };
  'hand.raise': Record<string, never>;
  'hand.lower': { identity?: string };
  'meeting.mute_all': Record<string, never>;
  'meeting.spotlight': { identity: string };
  'meeting.end': Record<string, never>;
  'state.sync': Record<string, never>;
}
export type RequestType = keyof RequestBodies;
export type Request<T extends RequestType = RequestType> = { id: string; type: T } & RequestBodies[T];

// ---- Responses (topic classcast.res) ----

export type ErrorCode = 'not_allowed' | 'not_found' | 'bad_request' | 'limit' | 'rate_limited';
export type Response =
  | { id: string; ok: true }
  | { id: string; ok: false; error: ErrorCode | string; message?: string };

// ---- State (topic classcast.state) ----

export type LessonPhase = 'idle' | 'live' | 'ended';
export type QuestionState = 'local' | 'forwarded' | 'on_stage' | 'done';

export interface Lesson {
  state: LessonPhase;
  started_at: number;
  ended_at: number;
}
export interface StageEntry {
  classroom: string;
  since: number;
  by: string;
}
export interface Question {
  id: string;
  classroom: string;
  classroom_name?: string;
  by: string;
  text: string;
  state: QuestionState;
  raised_at: number;
}
export interface Hand {
  identity: string;
  since: number;
}
export interface Chapter {
  title: string;
  at: number;
}
export interface Attendance {
  classroom: string;
  joined_at: number;
  left_at: number;
  present: boolean;
}
export interface ClassroomState {
  version: number;
  mode: RoomMode;
  lesson: Lesson;
  stage: StageEntry[];
  max_on_stage: number;
  questions: Question[];
  hands: Hand[];
  spotlight: string;
  chapters: Chapter[];
  attendance: Attendance[];
}

// ---- Whiteboard (topic classcast.wb) ----

export type Tool = 'pen' | 'highlighter' | 'eraser' | 'line' | 'rect' | 'ellipse' | 'arrow' | 'text';
export const TOOLS: readonly Tool[] = ['pen', 'highlighter', 'eraser', 'line', 'rect', 'ellipse', 'arrow', 'text'];

/** A point normalised to 0..1 of the page (16:9). */
export type Point = [number, number];

export interface Stroke {
  id: string;
  tool: Tool;
  color: string;
  width: number;
  points: Point[];
  text?: string;
}

/** Operations a client sends. */
export type WbClientOp =
  | { op: 'stroke'; page: number; stroke: Stroke }
  | { op: 'undo'; page: number; stroke_id: string }
  | { op: 'clear'; page: number }
  | { op: 'page'; page: number }
  | { op: 'sync' };

/** Operations the server sends: the client ops with seq and by, plus snapshots. */
export type WbServerOp =
  | ({ seq?: number; by?: string } & Exclude<WbClientOp, { op: 'sync' }>)
  | { op: 'snapshot'; seq: number; current_page: number; pages: Record<string, Stroke[]> };

/** Limits the server enforces on a stroke; the client checks them before sending. */
export const MAX_STROKE_POINTS = 5000;
export const MAX_STROKE_BYTES = 64 * 1024;

/** Room metadata JSON. */
export interface RoomMetadata {
  classcast?: { mode?: RoomMode; max_on_stage?: number; course?: string; title?: string };
}
