// Whiteboard model: pages of vector strokes kept in the server's order.
//
// The server stamps every op with a room-wide `seq` and sends a snapshot on join, so a client that
// applies ops strictly in seq order after the snapshot converges with everyone else. Ops that
// arrive early wait in a buffer; a gap that does not fill asks for a new snapshot ('needSync').
// The client's own strokes show at once (pending) and take their server position when the echo
// arrives. Ops without seq (a server that forwards whiteboard packets as plain data) are applied
// in arrival order, which is still the sender's order on the reliable channel.
import { TypedEmitter } from './emitter';
import {
  MAX_STROKE_BYTES,
  MAX_STROKE_POINTS,
  TOOLS,
  type Point,
  type Stroke,
  type WbClientOp,
  type WbServerOp,
} from './protocol';

export type WhiteboardEvents = {
  /** Strokes of page changed (redraw it if shown). */
  change: [page: number];
  /** The shown page changed. */
  page: [page: number];
  /** Ops are missing: ask the server for a snapshot ({op: 'sync'}). */
  needSync: [];
};

interface Pending {
  page: number;
  stroke: Stroke;
}

type SeqOp = Exclude<WbServerOp, { op: 'snapshot' }>;

export class WhiteboardModel extends TypedEmitter<WhiteboardEvents> {
  private readonly pages = new Map<number, Stroke[]>();
  private readonly pending = new Map<string, Pending>();
  private readonly buffer = new Map<number, SeqOp>();
  private lastSeq = 0;
  private snapshotSeen = false;
  private shown = 0;
  private strokeCounter = 0;

  private readonly session = Math.random().toString(36).slice(2, 6);

  /** author prefixes the ids of strokes made here (use the participant identity). */
  constructor(public author = 'local') {
    super();
  }

  get currentPage(): number {
    return this.shown;
  }

  get seq(): number {
    return this.lastSeq;
  }

  /** Ops waiting for an earlier seq. */
  get buffered(): number {
    return this.buffer.size;
  }

  /** Number of pages worth offering: every page with strokes, the shown one, and one more. */
  get pageCount(): number {
    let max = this.shown;
    for (const [p, list] of this.pages) if (list.length > 0 && p > max) max = p;
    for (const { page } of this.pending.values()) if (page > max) max = page;
    return max + 1;
  }

  /** Confirmed strokes in server order, then this client's pending ones. */
  strokes(page = this.shown): Stroke[] {
    const out = [...(this.pages.get(page) ?? [])];
    for (const p of this.pending.values()) if (p.page === page) out.push(p.stroke);
    return out;
  }

  newStrokeId(): string {
    this.strokeCounter += 1;
    return `${this.author}-${this.session}${this.strokeCounter}`;
  }

  // ---- local edits: each returns the op to send ----

  addLocalStroke(page: number, stroke: Stroke): WbClientOp {
    const err = strokeProblem(stroke);
    if (err) throw new Error(err);
    this.pending.set(stroke.id, { page, stroke });
    this.emit('change', page);
    return { op: 'stroke', page, stroke };
  }

  /** Undoes the newest stroke on page (the local one if onlyOwn); undefined when nothing to undo. */
  undoLocal(page = this.shown, onlyOwn = true): WbClientOp | undefined {
    const list = this.strokes(page);
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i]!;
      if (onlyOwn && !s.id.startsWith(`${this.author}-`)) continue;
      this.removeStroke(page, s.id);
      this.emit('change', page);
      return { op: 'undo', page, stroke_id: s.id };
    }
    return undefined;
  }

  clearLocal(page = this.shown): WbClientOp {
    this.clearPage(page);
    this.emit('change', page);
    return { op: 'clear', page };
  }

  showPageLocal(page: number): WbClientOp {
    this.setShown(page);
    return { op: 'page', page };
  }

  // ---- remote ops ----

  /** Applies an op from the server (or, without a whiteboard-aware server, from a peer). */
  applyRemote(raw: unknown): void {
    const op = parseServerOp(raw);
    if (!op) return;
    if (op.op === 'snapshot') {
      this.applySnapshot(op);
      return;
    }
    if (op.seq === undefined) {
      this.applyOp(op);
      return;
    }
    if (op.seq <= this.lastSeq) return; // already applied (or covered by a snapshot)
    const inOrder = op.seq === this.lastSeq + 1 && (this.snapshotSeen || this.lastSeq > 0 || op.seq === 1);
    if (!inOrder) {
      this.buffer.set(op.seq, op);
      this.emit('needSync');
      return;
    }
    this.applyOp(op);
    this.lastSeq = op.seq;
    this.drain();
  }

  private applySnapshot(s: Extract<WbServerOp, { op: 'snapshot' }>): void {
    const touched = new Set<number>([...this.pages.keys()]);
    this.pages.clear();
    for (const [key, strokes] of Object.entries(s.pages ?? {})) {
      const page = Number(key);
      if (!Number.isInteger(page) || page < 0 || !Array.isArray(strokes)) continue;
      const valid = strokes.filter(isStroke);
      this.pages.set(page, valid);
      touched.add(page);
      for (const st of valid) this.pending.delete(st.id);
    }
    this.lastSeq = s.seq;
    this.snapshotSeen = true;
    for (const seq of [...this.buffer.keys()]) if (seq <= s.seq) this.buffer.delete(seq);
    for (const p of touched) this.emit('change', p);
    this.setShown(s.current_page ?? 0);
    this.drain();
  }

  private drain(): void {
    for (;;) {
      const next = this.buffer.get(this.lastSeq + 1);
      if (!next) return;
      this.buffer.delete(this.lastSeq + 1);
      this.applyOp(next);
      this.lastSeq += 1;
    }
  }

  private applyOp(op: SeqOp): void {
    switch (op.op) {
      case 'stroke': {
        this.pending.delete(op.stroke.id);
        const list = this.pageList(op.page);
        const at = list.findIndex((s) => s.id === op.stroke.id);
        if (at >= 0) list[at] = op.stroke;
        else list.push(op.stroke);
        this.emit('change', op.page);
        return;
      }
      case 'undo':
        this.removeStroke(op.page, op.stroke_id);
        this.emit('change', op.page);
        return;
      case 'clear':
        this.pages.set(op.page, []);
        this.emit('change', op.page);
        return;
      case 'page':
        this.setShown(op.page);
        return;
    }
  }

  private pageList(page: number): Stroke[] {
    let list = this.pages.get(page);
    if (!list) {
      list = [];
      this.pages.set(page, list);
    }
    return list;
  }

  private removeStroke(page: number, id: string): void {
    this.pending.delete(id);
    const list = this.pages.get(page);
    if (!list) return;
    const at = list.findIndex((s) => s.id === id);
    if (at >= 0) list.splice(at, 1);
  }

  private clearPage(page: number): void {
    this.pages.set(page, []);
    for (const [id, p] of this.pending) if (p.page === page) this.pending.delete(id);
  }

  private setShown(page: number): void {
    if (!Number.isInteger(page) || page < 0 || page === this.shown) return;
    this.shown = page;
    this.emit('page', page);
  }
}

// ---- validation and helpers ----

function isPoint(v: unknown): v is Point {
  return Array.isArray(v) && v.length >= 2 && typeof v[0] === 'number' && typeof v[1] === 'number';
}

export function isStroke(v: unknown): v is Stroke {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Stroke;
  return (
    typeof s.id === 'string' &&
    (TOOLS as readonly string[]).includes(s.tool) &&
    typeof s.color === 'string' &&
    typeof s.width === 'number' &&
    Array.isArray(s.points) &&
    s.points.every(isPoint)
  );
}

function parseServerOp(raw: unknown): WbServerOp | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const o = raw as Record<string, unknown>;
  if (o.seq !== undefined && (typeof o.seq !== 'number' || !Number.isInteger(o.seq))) return undefined;
  const page = o.page;
  const pageOK = typeof page === 'number' && Number.isInteger(page) && page >= 0;
  switch (o.op) {
    case 'snapshot':
      return typeof o.seq === 'number' && typeof o.pages === 'object' && o.pages !== null
        ? (o as unknown as WbServerOp)
        : undefined;
    case 'stroke':
      return pageOK && isStroke(o.stroke) ? (o as unknown as WbServerOp) : undefined;
    case 'undo':
      return pageOK && typeof o.stroke_id === 'string' ? (o as unknown as WbServerOp) : undefined;
    case 'clear':
    case 'page':
      return pageOK ? (o as unknown as WbServerOp) : undefined;
    default:
      return undefined;
  }
}

/** Why the server would refuse this stroke, or undefined when it is fine. */
export function strokeProblem(s: Stroke): string | undefined {
  if (s.points.length > MAX_STROKE_POINTS) return `stroke has ${s.points.length} points (max ${MAX_STROKE_POINTS})`;
  const bytes = new TextEncoder().encode(JSON.stringify(s)).length;
  if (bytes > MAX_STROKE_BYTES) return `stroke is ${bytes} bytes (max ${MAX_STROKE_BYTES})`;
  return undefined;
}

/** Rounds to 4 decimals (1/10000 of the page is below a pixel on any screen) to keep packets small. */
export function roundPoint(x: number, y: number): Point {
  const r = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;
  return [r(x), r(y)];
}

/**
 * Drops points closer than minDist to the previous kept one (the last point is always kept), so a
 * slow pen does not send thousands of points.
 */
export function thinPoints(points: Point[], minDist = 0.002): Point[] {
  if (points.length <= 2) return points;
  const out: Point[] = [points[0]!];
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i]!;
    const q = out[out.length - 1]!;
    if (Math.hypot(p[0] - q[0], p[1] - q[1]) >= minDist) out.push(p);
  }
  out.push(points[points.length - 1]!);
  return out;
}
