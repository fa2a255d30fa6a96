// The classroom state as the server last described it. The server versions every state it sends;
// the store keeps the newest and ignores older or repeated ones (they can cross on reconnects).
import { TypedEmitter } from './emitter';
import type { ClassroomState, Question, RoomMode } from './protocol';

export function emptyState(mode: RoomMode = 'lesson'): ClassroomState {
  return {
    version: 0,
    mode,
    lesson: { state: 'idle', started_at: 0, ended_at: 0 },
    stage: [],
    max_on_stage: 1,
    questions: [],
    hands: [],
    spotlight: '',
    chapters: [],
    attendance: [],
  };
}

/** Normalises a decoded state message: missing lists become empty, unknown fields are kept. */
export function parseState(raw: unknown): ClassroomState | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Partial<ClassroomState>;
  if (typeof r.version !== 'number' || !Number.isFinite(r.version)) return undefined;
  const base = emptyState(r.mode === 'meeting' ? 'meeting' : 'lesson');
  return {
    ...base,
    ...r,
    version: r.version,
    lesson: { ...base.lesson, ...(r.lesson ?? {}) },
    stage: Array.isArray(r.stage) ? r.stage : [],
    questions: Array.isArray(r.questions) ? r.questions : [],
    hands: Array.isArray(r.hands) ? r.hands : [],
    chapters: Array.isArray(r.chapters) ? r.chapters : [],
    attendance: Array.isArray(r.attendance) ? r.attendance : [],
    spotlight: typeof r.spotlight === 'string' ? r.spotlight : '',
    max_on_stage: typeof r.max_on_stage === 'number' ? r.max_on_stage : base.max_on_stage,
  };
}

export type StateEvents = {
  /** A newer state was stored; prev is the one it replaced. */
  change: [state: ClassroomState, prev: ClassroomState];
};

export class StateStore extends TypedEmitter<StateEvents> {
  private current: ClassroomState;
  private received = false;

  constructor(mode: RoomMode = 'lesson') {
    super();
    this.current = emptyState(mode);
  }

  get state(): ClassroomState {
    return this.current;
  }

  get version(): number {
    return this.current.version;
  }

  /** True once the server sent any state (so the server speaks the classroom protocol). */
  get hasServerState(): boolean {
    return this.received;
  }

  /** Stores s if it is newer than what is held; returns whether it was. */
  apply(raw: unknown): boolean {
    const s = parseState(raw);
    if (!s) return false;
    if (this.received && s.version <= this.current.version) return false;
    const prev = this.current;
    this.current = s;
    this.received = true;
    this.emit('change', s, prev);
    return true;
  }

  /** Forgets the version (after a full reconnect the server may restart its counter). */
  reset(): void {
    this.received = false;
  }

  // ---- selectors ----

  onStage(classroom: string): boolean {
    return this.current.stage.some((e) => e.classroom === classroom);
  }

  /** Questions not yet done, oldest first. */
  openQuestions(filter?: (q: Question) => boolean): Question[] {
    return this.current.questions
      .filter((q) => q.state !== 'done' && (!filter || filter(q)))
      .sort((a, b) => a.raised_at - b.raised_at);
  }

  /** The lesson-wide queue a master sees: forwarded and on-stage questions. */
  lessonQueue(): Question[] {
    return this.openQuestions((q) => q.state === 'forwarded' || q.state === 'on_stage');
  }

  /** A classroom's own questions (what its remote teacher moderates). */
  classroomQueue(classroom: string): Question[] {
    return this.openQuestions((q) => q.classroom === classroom);
  }

  handRaised(identity: string): boolean {
    return this.current.hands.some((h) => h.identity === identity);
  }

  lessonElapsedMs(now = Date.now()): number {
    const l = this.current.lesson;
    if (!l.started_at) return 0;
    return Math.max(0, (l.state === 'ended' && l.ended_at ? l.ended_at : now) - l.started_at);
  }
}

/** How long a question has been waiting. */
export function waitingMs(q: Question, now = Date.now()): number {
  return Math.max(0, now - q.raised_at);
}

/** "m:ss" or "h:mm:ss". */
export function formatDuration(ms: number): string {
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
