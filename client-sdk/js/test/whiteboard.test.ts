import { describe, expect, it } from 'vitest';
import { WhiteboardModel, roundPoint, strokeProblem, thinPoints } from '../src/whiteboard';
import type { Stroke } from '../src/protocol';

const stroke = (id: string, x = 0.1): Stroke => ({ id, tool: 'pen', color: '#000', width: 3, points: [[x, x], [x + 0.1, x]] });
const ids = (m: WhiteboardModel, page = 0) => m.strokes(page).map((s) => s.id);

describe('WhiteboardModel', () => {
  it('applies sequenced ops in seq order, buffering early ones', () => {
    const m = new WhiteboardModel('me');
    m.applyRemote({ op: 'snapshot', seq: 10, current_page: 0, pages: { '0': [stroke('a')] } });
    m.applyRemote({ op: 'stroke', page: 0, seq: 12, by: 'x', stroke: stroke('c') });
    expect(ids(m)).toEqual(['a']);
    expect(m.buffered).toBe(1);
    m.applyRemote({ op: 'stroke', page: 0, seq: 11, by: 'x', stroke: stroke('b') });
    expect(ids(m)).toEqual(['a', 'b', 'c']);
    expect(m.seq).toBe(12);
    expect(m.buffered).toBe(0);
  });

  it('ignores ops already covered by the snapshot or applied', () => {
    const m = new WhiteboardModel('me');
    m.applyRemote({ op: 'snapshot', seq: 5, current_page: 0, pages: { '0': [stroke('a')] } });
    m.applyRemote({ op: 'stroke', page: 0, seq: 5, stroke: stroke('old') });
    m.applyRemote({ op: 'stroke', page: 0, seq: 6, stroke: stroke('b') });
    m.applyRemote({ op: 'stroke', page: 0, seq: 6, stroke: stroke('b2') });
    expect(ids(m)).toEqual(['a', 'b']);
  });

  it('asks for a snapshot on a gap and drains the buffer after it', () => {
    const m = new WhiteboardModel('me');
    let asks = 0;
    m.on('needSync', () => asks++);
    m.applyRemote({ op: 'stroke', page: 0, seq: 7, stroke: stroke('late') });
    expect(asks).toBe(1);
    expect(ids(m)).toEqual([]);
    m.applyRemote({ op: 'snapshot', seq: 6, current_page: 1, pages: { '0': [stroke('a')], '1': [stroke('p1')] } });
    expect(ids(m, 0)).toEqual(['a', 'late']);
    expect(m.currentPage).toBe(1);
  });

  it('applies a room-first op (seq 1) without a snapshot', () => {
    const m = new WhiteboardModel('me');
    m.applyRemote({ op: 'stroke', page: 0, seq: 1, stroke: stroke('a') });
    expect(ids(m)).toEqual(['a']);
  });

  it('shows local strokes at once and moves them to server order on echo', () => {
    const m = new WhiteboardModel('me');
    m.applyRemote({ op: 'snapshot', seq: 0, current_page: 0, pages: {} });
    const mine = stroke(m.newStrokeId());
    m.addLocalStroke(0, mine);
    expect(ids(m)).toEqual([mine.id]);
    m.applyRemote({ op: 'stroke', page: 0, seq: 1, by: 'other', stroke: stroke('theirs') });
    expect(ids(m)).toEqual(['theirs', mine.id]);
    m.applyRemote({ op: 'stroke', page: 0, seq: 2, by: 'me', stroke: mine });
    expect(ids(m)).toEqual(['theirs', mine.id]);
    expect(m.strokes(0)).toHaveLength(2);
  });

  it('undo removes the newest own stroke; clear and page ops', () => {
    const m = new WhiteboardModel('me');
    m.applyRemote({ op: 'stroke', page: 0, stroke: stroke('other-1') });
    const a = stroke(m.newStrokeId());
    m.addLocalStroke(0, a);
    const op = m.undoLocal(0);
    expect(op).toEqual({ op: 'undo', page: 0, stroke_id: a.id });
    expect(ids(m)).toEqual(['other-1']);
    expect(m.undoLocal(0)).toBeUndefined();
    expect(m.undoLocal(0, false)).toEqual({ op: 'undo', page: 0, stroke_id: 'other-1' });
    m.applyRemote({ op: 'stroke', page: 2, stroke: stroke('x') });
    m.applyRemote({ op: 'undo', page: 2, stroke_id: 'x' });
    expect(ids(m, 2)).toEqual([]);
    m.applyRemote({ op: 'stroke', page: 0, stroke: stroke('y') });
    m.applyRemote({ op: 'clear', page: 0 });
    expect(ids(m)).toEqual([]);
    const pages: number[] = [];
    m.on('page', (p) => pages.push(p));
    m.applyRemote({ op: 'page', page: 3 });
    expect(m.currentPage).toBe(3);
    expect(m.pageCount).toBe(4);
    expect(pages).toEqual([3]);
  });

  it('applies unsequenced ops (server without whiteboard support) in arrival order', () => {
    const m = new WhiteboardModel('me');
    m.applyRemote({ op: 'stroke', page: 0, stroke: stroke('a') });
    m.applyRemote({ op: 'stroke', page: 0, stroke: stroke('b') });
    m.applyRemote({ op: 'stroke', page: 0, stroke: stroke('a') }); // duplicate id replaces
    expect(ids(m)).toEqual(['a', 'b']);
  });

  it('drops malformed ops', () => {
    const m = new WhiteboardModel('me');
    for (const bad of [null, 'x', { op: 'stroke' }, { op: 'stroke', page: -1, stroke: stroke('a') },
      { op: 'stroke', page: 0, stroke: { id: 'a', tool: 'laser', color: '#000', width: 1, points: [] } },
      { op: 'undo', page: 0 }, { op: 'nope', page: 0 }, { op: 'stroke', page: 0, seq: 1.5, stroke: stroke('a') }]) {
      m.applyRemote(bad);
    }
    expect(ids(m)).toEqual([]);
  });

  it('refuses strokes over the server limits', () => {
    const many: Stroke = { ...stroke('big'), points: Array.from({ length: 5001 }, (_, i) => [i / 5001, 0.5]) };
    expect(strokeProblem(many)).toMatch(/5001 points/);
    expect(() => new WhiteboardModel().addLocalStroke(0, many)).toThrow();
    const heavy: Stroke = { ...stroke('t'), tool: 'text', text: 'x'.repeat(70_000) };
    expect(strokeProblem(heavy)).toMatch(/bytes/);
    expect(strokeProblem(stroke('ok'))).toBeUndefined();
  });

  it('rounds and thins points', () => {
    expect(roundPoint(0.123456, 1.5)).toEqual([0.1235, 1]);
    const pts = Array.from({ length: 100 }, (_, i) => [i * 0.0001, 0] as [number, number]);
    const thin = thinPoints(pts);
    expect(thin.length).toBeLessThan(10);
    expect(thin[0]).toEqual(pts[0]);
    expect(thin[thin.length - 1]).toEqual(pts[99]);
  });
});
