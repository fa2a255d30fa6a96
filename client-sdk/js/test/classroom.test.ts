// Classroom against a stand-in Room: only the parts Classroom touches (events, local participant,
// publishData), so the protocol handling is tested without a browser or a server.
import { describe, expect, it } from 'vitest';
import type { Room } from 'livekit-client';
import { Classroom } from '../src/classroom';

interface Sent {
  topic: string;
  body: Record<string, unknown>;
}

class Emitter {
  private readonly fns = new Map<string, Array<(...a: unknown[]) => void>>();
  on(ev: string, fn: (...a: unknown[]) => void) {
    this.fns.set(ev, [...(this.fns.get(ev) ?? []), fn]);
    return this;
  }
  off(ev: string, fn: (...a: unknown[]) => void) {
    this.fns.set(ev, (this.fns.get(ev) ?? []).filter((f) => f !== fn));
    return this;
  }
  emit(ev: string, ...a: unknown[]) {
    for (const fn of this.fns.get(ev) ?? []) fn(...a);
    return true;
  }
}

function fakeRoom(identity: string, attributes: Record<string, string> = {}) {
  const sent: Sent[] = [];
  const mic: boolean[] = [];
  const ee = new Emitter();
  const room = Object.assign(ee, {
    state: 'connected',
    metadata: '',
    remoteParticipants: new Map(),
    localParticipant: {
      identity,
      attributes,
      publishData: async (data: Uint8Array, opts: { topic: string; destinationIdentities?: string[] }) => {
        sent.push({ topic: opts.topic, body: JSON.parse(new TextDecoder().decode(data)) });
      },
      setMicrophoneEnabled: async (on: boolean) => void mic.push(on),
    },
    disconnect: async () => {},
  });
  const deliver = (topic: string, body: unknown) =>
    ee.emit('dataReceived', new TextEncoder().encode(JSON.stringify(body)), undefined, undefined, topic);
  return { room: room as unknown as Room, sent, mic, deliver };
}

describe('Classroom', () => {
  it('sends typed requests on classcast.req and settles them from classcast.res', async () => {
    const f = fakeRoom('master', { 'classcast.role': 'master_teacher' });
    const c = new Classroom(f.room);
    expect(c.role).toBe('master_teacher');
    const p = c.addToStage('yunnan-17');
    await Promise.resolve();
    expect(f.sent[0]!.topic).toBe('classcast.req');
    expect(f.sent[0]!.body).toMatchObject({ type: 'stage.add', classroom: 'yunnan-17' });
    f.deliver('classcast.res', { id: f.sent[0]!.body.id, ok: true });
    await expect(p).resolves.toBeUndefined();

    const errors: string[] = [];
    c.on('requestError', (e) => errors.push(e.code));
    const q = c.markChapter('Fractions');
    await Promise.resolve();
    f.deliver('classcast.res', { id: f.sent[1]!.body.id, ok: false, error: 'not_allowed' });
    await expect(q).rejects.toMatchObject({ code: 'not_allowed' });
    expect(errors).toEqual(['not_allowed']);
  });

  it('keeps the newest state, reports new questions and becomes ready', () => {
    const f = fakeRoom('master', { 'classcast.role': 'master_teacher' });
    const c = new Classroom(f.room);
    const raised: string[] = [];
    let ready = 0;
    c.on('questionRaised', (q) => raised.push(q.id));
    c.on('serverReady', () => ready++);
    const qa = { id: 'q1', classroom: 'c1', by: 'd1', text: 'a', state: 'forwarded', raised_at: 1 };
    f.deliver('classcast.state', { version: 2, mode: 'lesson', questions: [qa] });
    f.deliver('classcast.state', { version: 1, mode: 'lesson', questions: [] });
    f.deliver('classcast.state', { version: 3, mode: 'lesson', questions: [qa, { ...qa, id: 'q2' }] });
    expect(c.serverReady).toBe(true);
    expect(ready).toBe(1);
    expect(c.state.version).toBe(3);
    expect(raised).toEqual(['q1', 'q2']);
  });

  it('turns a classroom mic on while on stage and off after', () => {
    const f = fakeRoom('pc17', { 'classcast.role': 'classroom_display', 'classcast.classroom': 'yunnan-17' });
    const c = new Classroom(f.room);
    const changes: boolean[] = [];
    c.on('stageChanged', (on) => changes.push(on));
    f.deliver('classcast.state', { version: 1, stage: [{ classroom: 'yunnan-17', since: 1, by: 'm' }] });
    expect(c.onStage).toBe(true);
    f.deliver('classcast.state', { version: 2, stage: [{ classroom: 'yunnan-17', since: 1, by: 'm' }] });
    f.deliver('classcast.state', { version: 3, stage: [] });
    expect(changes).toEqual([true, false]);
    expect(f.mic).toEqual([true, false]);
  });

  it('sends whiteboard ops and applies the server echo', async () => {
    const f = fakeRoom('master', { 'classcast.role': 'master_teacher' });
    const c = new Classroom(f.room);
    c.afterConnect();
    const pages: number[] = [];
    c.on('whiteboard', (p) => pages.push(p));
    const id = c.whiteboard.newStrokeId();
    expect(id.startsWith('master-')).toBe(true);
    await c.drawStroke(0, { id, tool: 'rect', color: '#e11d48', width: 3, points: [[0.1, 0.1], [0.3, 0.3]] });
    const wb = f.sent.filter((s) => s.topic === 'classcast.wb').map((s) => s.body.op);
    expect(wb).toEqual(['sync', 'stroke']);
    f.deliver('classcast.wb', { op: 'snapshot', seq: 4, current_page: 0, pages: { '0': [] } });
    f.deliver('classcast.wb', { op: 'stroke', page: 0, seq: 5, by: 'master', stroke: { id, tool: 'rect', color: '#e11d48', width: 3, points: [[0.1, 0.1], [0.3, 0.3]] } });
    expect(c.whiteboard.strokes(0).map((s) => s.id)).toEqual([id]);
    expect(pages.length).toBeGreaterThan(0);
    await c.undo();
    expect(f.sent.at(-1)!.body).toEqual({ op: 'undo', page: 0, stroke_id: id });
  });

  it('answers a peer whiteboard sync with a snapshot while the server has no classroom state', async () => {
    const f = fakeRoom('master', { 'classcast.role': 'master_teacher' });
    const c = new Classroom(f.room);
    await c.drawStroke(0, { id: 'master-a', tool: 'pen', color: '#000', width: 2, points: [[0, 0], [1, 1]] });
    (f.room as unknown as Emitter).emit('dataReceived', new TextEncoder().encode('{"op":"sync"}'), { identity: 'pc1' }, undefined, 'classcast.wb');
    const snap = f.sent.at(-1)!.body;
    expect(snap).toMatchObject({ op: 'snapshot', seq: 0, current_page: 0 });
    expect((snap.pages as Record<string, unknown[]>)['0']).toHaveLength(1);
    // A classroom receiving it shows the board.
    const g = fakeRoom('pc1');
    const pc = new Classroom(g.room);
    g.deliver('classcast.wb', snap);
    expect(pc.whiteboard.strokes(0).map((s) => s.id)).toEqual(['master-a']);
    // Once the server speaks the protocol, it answers syncs itself.
    f.deliver('classcast.state', { version: 1 });
    const before = f.sent.length;
    (f.room as unknown as Emitter).emit('dataReceived', new TextEncoder().encode('{"op":"sync"}'), { identity: 'pc1' }, undefined, 'classcast.wb');
    expect(f.sent.length).toBe(before);
  });

  it('falls back to the given role and classroom for plain tokens', () => {
    const f = fakeRoom('pc3');
    expect(new Classroom(f.room).role).toBe('classroom_display');
    expect(new Classroom(f.room).classroom).toBe('pc3');
    const m = new Classroom(f.room, { fallbackRole: 'master_teacher' });
    expect(m.role).toBe('master_teacher');
    expect(m.classroom).toBeUndefined();
  });

  it('ignores other topics and reports undecodable payloads', () => {
    const f = fakeRoom('x');
    const c = new Classroom(f.room);
    const bad: string[] = [];
    c.on('protocolError', (t) => bad.push(t));
    f.deliver('chat', { hi: 1 });
    (f.room as unknown as Emitter).emit('dataReceived', new TextEncoder().encode('{oops'), undefined, undefined, 'classcast.state');
    expect(bad).toEqual(['classcast.state']);
    expect(c.serverReady).toBe(false);
  });
});
