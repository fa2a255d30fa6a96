// Classroom: the classroom protocol on top of one livekit-client Room. It decodes the classcast.*
// data topics, keeps the versioned state and the whiteboard, sends requests with ids and timeouts,
// and exposes all of it as typed methods and events. Media stays the Room's business: use
// classroom.room for tracks, as with any LiveKit app.
import {
  ConnectionState,
  Room,
  RoomEvent,
  type Participant,
  type RemoteParticipant,
  type RoomConnectOptions,
  type RoomOptions,
} from 'livekit-client';
import { TypedEmitter } from './emitter';
import {
  Topic,
  type ClassroomState,
  type MediaSourceName,
  type Question,
  type RequestBodies,
  type RequestType,
  type Role,
  type RoomMetadata,
  type RoomMode,
  type Stroke,
  type WbClientOp,
} from './protocol';
import { RequestClient, RequestError } from './requests';
import { classroomNameOf, classroomOf, hasExplicitRole, isClassroomRole, isHidden, mayDraw, roleOf } from './roles';
import { StateStore } from './state';
import { WhiteboardModel } from './whiteboard';

export interface ClassroomOptions {
  /** Role to assume when the token carries none (plain LiveKit tokens). */
  fallbackRole?: Role;
  /** Classroom id to assume when the token carries none. */
  fallbackClassroom?: string;
  /** Mode to assume until the server's state or the room metadata says otherwise. */
  mode?: RoomMode;
  requestTimeoutMs?: number;
  /**
   * Classroom roles: turn the microphone on while the classroom is on stage and off otherwise
   * (the contract sends a classroom's mic only while on stage). Default true.
   */
  stageMic?: boolean;
  /**
   * Until the server shows it speaks the protocol (no classcast.state yet), answer a peer's
   * whiteboard {op:'sync'} with a snapshot of this client's board, so late joiners see the board
   * on a server that only forwards data packets. Default true for roles that may draw.
   */
  peerWhiteboardSync?: boolean;
}

export type ClassroomEvents = {
  /** A newer state arrived. */
  state: [state: ClassroomState, prev: ClassroomState];
  /** A question appeared that was not in the previous state (any state). */
  questionRaised: [q: Question];
  /** This client's classroom went on or off stage. */
  stageChanged: [onStage: boolean];
  /** A whiteboard page's strokes changed (redraw it if shown). */
  whiteboard: [page: number];
  /** The shown whiteboard page changed. */
  whiteboardPage: [page: number];
  /** A request failed (also rejected to the caller); for toasts. */
  requestError: [err: RequestError];
  /** The first server state arrived: the server speaks the classroom protocol. */
  serverReady: [];
  /** A data packet on a classcast topic could not be decoded. */
  protocolError: [topic: string, err: Error];
};

/** One classroom (a group of participants sharing classcast.classroom) as seen from here. */
export interface ClassroomGroup {
  classroom: string;
  name: string;
  participants: Participant[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Classroom extends TypedEmitter<ClassroomEvents> {
  readonly store: StateStore;
  readonly whiteboard: WhiteboardModel;
  readonly requests: RequestClient;
  private readonly offs: Array<() => void> = [];
  private lastSyncAsk = 0;
  private wasOnStage = false;

  constructor(
    readonly room: Room,
    private readonly opts: ClassroomOptions = {},
  ) {
    super();
    this.store = new StateStore(opts.mode ?? 'lesson');
    this.whiteboard = new WhiteboardModel(room.localParticipant?.identity || 'local');
    this.requests = new RequestClient({
      send: (req) => this.publish(Topic.Request, req),
      timeoutMs: opts.requestTimeoutMs,
    });
    this.wire();
  }

  /** Creates a Room, wires a Classroom to it and connects. */
  static async connect(
    url: string,
    token: string,
    opts: ClassroomOptions & { room?: RoomOptions; connect?: RoomConnectOptions } = {},
  ): Promise<Classroom> {
    const room = new Room(opts.room);
    const c = new Classroom(room, opts);
    await room.connect(url, token, opts.connect);
    c.afterConnect();
    return c;
  }

  /** Call after connecting a Room that was passed to the constructor. */
  afterConnect(): void {
    this.whiteboard.author = this.room.localParticipant.identity || this.whiteboard.author;
    // The server sends state on join; ask again in case it went out before we listened.
    this.requests.request('state.sync', {}).catch(() => undefined);
    void this.sendWhiteboard({ op: 'sync' }).catch(() => undefined);
  }

  // ---- identity ----

  get identity(): string {
    return this.room.localParticipant.identity;
  }

  /** This participant's role: from the token's attributes, else the fallback. */
  get role(): Role {
    const lp = this.room.localParticipant;
    if (hasExplicitRole(lp)) return roleOf(lp);
    return this.opts.fallbackRole ?? roleOf(lp, this.mode);
  }

  /** This participant's classroom (classroom roles). */
  get classroom(): string | undefined {
    const lp = this.room.localParticipant;
    if (lp.attributes?.['classcast.classroom']) return classroomOf(lp);
    return this.opts.fallbackClassroom ?? (isClassroomRole(this.role) ? lp.identity : undefined);
  }

  get mode(): RoomMode {
    if (this.store.hasServerState) return this.store.state.mode;
    const meta = parseRoomMetadata(this.room.metadata);
    return meta?.classcast?.mode ?? this.opts.mode ?? 'lesson';
  }

  get state(): ClassroomState {
    return this.store.state;
  }

  /** True once the server sent classroom state. */
  get serverReady(): boolean {
    return this.store.hasServerState;
  }

  /** Resolves true when server state arrives within ms, false otherwise. */
  async waitForServer(ms = 4000): Promise<boolean> {
    if (this.serverReady) return true;
    try {
      await this.next('serverReady', ms);
      return true;
    } catch {
      return false;
    }
  }

  /** Role of any participant, with this room's fallbacks. */
  roleOf(p: Participant): Role {
    if (p === this.room.localParticipant) return this.role;
    return roleOf(p, this.mode);
  }

  /** Visible remote participants grouped by classroom (lesson mode), in join order. */
  classrooms(): ClassroomGroup[] {
    const groups = new Map<string, ClassroomGroup>();
    for (const p of this.room.remoteParticipants.values()) {
      const role = this.roleOf(p);
      if (!isClassroomRole(role)) continue;
      const id = classroomOf(p) ?? p.identity;
      let g = groups.get(id);
      if (!g) {
        g = { classroom: id, name: classroomNameOf(p), participants: [] };
        groups.set(id, g);
      }
      g.participants.push(p);
    }
    return [...groups.values()];
  }

  /** The master teacher(s) in the room. */
  masters(): RemoteParticipant[] {
    return [...this.room.remoteParticipants.values()].filter((p) => this.roleOf(p) === 'master_teacher');
  }

  /** Remote participants that show as tiles (admins and observers are hidden). */
  visibleParticipants(): RemoteParticipant[] {
    return [...this.room.remoteParticipants.values()].filter((p) => !isHidden(this.roleOf(p)));
  }

  // ---- requests ----

  request<T extends RequestType>(type: T, body: RequestBodies[T]): Promise<void> {
    return this.requests.request(type, body).catch((err: unknown) => {
      const e = err instanceof RequestError ? err : new RequestError('send_failed', String(err), type);
      this.emit('requestError', e);
      throw e;
    });
  }

  raiseQuestion(text: string): Promise<void> {
    return this.request('question.raise', { text });
  }
  forwardQuestion(questionId: string): Promise<void> {
    return this.request('question.forward', { question_id: questionId });
  }
  dismissQuestion(questionId: string): Promise<void> {
    return this.request('question.dismiss', { question_id: questionId });
  }
  addToStage(classroom: string): Promise<void> {
    return this.request('stage.add', { classroom });
  }
  removeFromStage(classroom: string): Promise<void> {
    return this.request('stage.remove', { classroom });
  }
  startLesson(): Promise<void> {
    return this.request('lesson.start', {});
  }
  endLesson(): Promise<void> {
    return this.request('lesson.end', {});
  }
  markChapter(title: string): Promise<void> {
    return this.request('chapter.mark', { title });
  }
  muteParticipant(identity: string, source: MediaSourceName = 'microphone'): Promise<void> {
    return this.request('participant.mute', { identity, source });
  }
  requestUnmute(identity: string): Promise<void> {
    return this.request('participant.request_unmute', { identity });
  }
  removeParticipant(identity: string): Promise<void> {
    return this.request('participant.remove', { identity });
  }
  raiseHand(): Promise<void> {
    return this.request('hand.raise', {});
  }
  /** Lowers this participant's hand, or (host) someone else's. */
  lowerHand(identity?: string): Promise<void> {
    return this.request('hand.lower', identity ? { identity } : {});
  }
  muteAll(): Promise<void> {
    return this.request('meeting.mute_all', {});
  }
  /** Spotlights identity; '' clears. */
  spotlight(identity: string): Promise<void> {
    return this.request('meeting.spotlight', { identity });
  }
  endMeeting(): Promise<void> {
    return this.request('meeting.end', {});
  }
  syncState(): Promise<void> {
    return this.request('state.sync', {});
  }

  // ---- whiteboard ----

  /** Adds a stroke locally at once and sends it. */
  drawStroke(page: number, stroke: Stroke): Promise<void> {
    return this.sendWhiteboard(this.whiteboard.addLocalStroke(page, stroke));
  }
  /** Undoes this client's newest stroke on page. */
  undo(page = this.whiteboard.currentPage): Promise<void> {
    const op = this.whiteboard.undoLocal(page);
    return op ? this.sendWhiteboard(op) : Promise.resolve();
  }
  clearPage(page = this.whiteboard.currentPage): Promise<void> {
    return this.sendWhiteboard(this.whiteboard.clearLocal(page));
  }
  showPage(page: number): Promise<void> {
    return this.sendWhiteboard(this.whiteboard.showPageLocal(page));
  }

  private sendWhiteboard(op: WbClientOp): Promise<void> {
    return this.publish(Topic.Whiteboard, op);
  }

  // ---- plumbing ----

  private async publish(topic: string, body: unknown): Promise<void> {
    if (this.room.state !== ConnectionState.Connected && this.room.state !== ConnectionState.Reconnecting) {
      throw new Error(`not connected (${this.room.state})`);
    }
    await this.room.localParticipant.publishData(encoder.encode(JSON.stringify(body)), { reliable: true, topic });
  }

  /** Feeds one received data packet (exposed for tests and for apps with their own Room wiring). */
  handleData(topic: string | undefined, payload: Uint8Array, from?: string): void {
    if (!topic || !topic.startsWith('classcast.')) return;
    let msg: unknown;
    try {
      msg = JSON.parse(decoder.decode(payload));
    } catch (err) {
      this.emit('protocolError', topic, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    switch (topic) {
      case Topic.Response:
        this.requests.handleResponse(msg);
        return;
      case Topic.State: {
        const first = !this.store.hasServerState;
        this.store.apply(msg);
        if (first && this.store.hasServerState) this.emit('serverReady');
        return;
      }
      case Topic.Whiteboard:
        if (from && (msg as { op?: string } | null)?.op === 'sync') {
          this.answerPeerSync(from);
          return;
        }
        this.whiteboard.applyRemote(msg);
        return;
    }
  }

  private answerPeerSync(to: string): void {
    if (this.serverReady || this.opts.peerWhiteboardSync === false || !mayDraw(this.role, this.mode)) return;
    const wb = this.whiteboard;
    const pages: Record<string, Stroke[]> = {};
    for (let p = 0; p < wb.pageCount; p++) {
      const list = wb.strokes(p);
      if (list.length) pages[String(p)] = list;
    }
    const snapshot = { op: 'snapshot', seq: 0, current_page: wb.currentPage, pages };
    void this.room.localParticipant
      .publishData(encoder.encode(JSON.stringify(snapshot)), { reliable: true, topic: Topic.Whiteboard, destinationIdentities: [to] })
      .catch(() => undefined);
  }

  private wire(): void {
    const onData = (payload: Uint8Array, p?: RemoteParticipant, _k?: unknown, topic?: string) =>
      this.handleData(topic, payload, p?.identity);
    const onDisconnected = () => {
      this.requests.close();
      this.store.reset();
    };
    this.room.on(RoomEvent.DataReceived, onData);
    this.room.on(RoomEvent.Disconnected, onDisconnected);
    this.offs.push(
      () => this.room.off(RoomEvent.DataReceived, onData),
      () => this.room.off(RoomEvent.Disconnected, onDisconnected),
    );
    this.offs.push(
      this.store.on('change', (s, prev) => {
        const known = new Set(prev.questions.map((q) => q.id));
        for (const q of s.questions) if (!known.has(q.id)) this.emit('questionRaised', q);
        this.emit('state', s, prev);
        this.followStage();
      }),
      this.whiteboard.on('change', (page) => this.emit('whiteboard', page)),
      this.whiteboard.on('page', (page) => this.emit('whiteboardPage', page)),
      this.whiteboard.on('needSync', () => {
        const now = Date.now();
        if (now - this.lastSyncAsk < 1000) return;
        this.lastSyncAsk = now;
        void this.sendWhiteboard({ op: 'sync' }).catch(() => undefined);
      }),
    );
  }

  private followStage(): void {
    const c = this.classroom;
    if (!c || !isClassroomRole(this.role)) return;
    const on = this.store.onStage(c);
    if (on === this.wasOnStage) return;
    this.wasOnStage = on;
    this.emit('stageChanged', on);
    if (this.opts.stageMic !== false && this.room.state === ConnectionState.Connected) {
      this.room.localParticipant.setMicrophoneEnabled(on).catch(() => undefined);
    }
  }

  /** Whether this client's classroom is on stage. */
  get onStage(): boolean {
    const c = this.classroom;
    return c ? this.store.onStage(c) : false;
  }

  async disconnect(): Promise<void> {
    await this.room.disconnect();
    this.dispose();
  }

  /** Detaches from the Room without disconnecting it. */
  dispose(): void {
    for (const off of this.offs.splice(0)) off();
    this.requests.close('disposed');
    this.removeAllListeners();
  }
}

export function parseRoomMetadata(raw: string | undefined): RoomMetadata | undefined {
  if (!raw) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    return typeof v === 'object' && v !== null ? (v as RoomMetadata) : undefined;
  } catch {
    return undefined;
  }
}
