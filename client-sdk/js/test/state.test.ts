import { describe, expect, it } from 'vitest';
import { StateStore, formatDuration, parseState, waitingMs } from '../src/state';
import type { ClassroomState, Question } from '../src/protocol';

const q = (id: string, state: Question['state'], classroom = 'c1', raised_at = 1000): Question => ({
  id, classroom, by: `${classroom}-display`, text: id, state, raised_at,
});

function state(version: number, extra: Partial<ClassroomState> = {}): unknown {
  return { version, mode: 'lesson', lesson: { state: 'live', started_at: 1000, ended_at: 0 }, ...extra };
}

describe('StateStore', () => {
  it('keeps the newest version and ignores older and repeated ones', () => {
    const s = new StateStore();
    const seen: number[] = [];
    s.on('change', (st) => seen.push(st.version));
    expect(s.apply(state(3))).toBe(true);
    expect(s.apply(state(2))).toBe(false);
    expect(s.apply(state(3))).toBe(false);
    expect(s.apply(state(5))).toBe(true);
    expect(seen).toEqual([3, 5]);
    expect(s.version).toBe(5);
  });

  it('accepts version 0 as the first state and any version after reset', () => {
    const s = new StateStore();
    expect(s.hasServerState).toBe(false);
    expect(s.apply(state(0))).toBe(true);
    expect(s.hasServerState).toBe(true);
    s.apply(state(9));
    s.reset();
    expect(s.apply(state(1))).toBe(true);
  });

  it('rejects malformed states and fills missing lists', () => {
    const s = new StateStore();
    expect(s.apply('nope')).toBe(false);
    expect(s.apply({ mode: 'lesson' })).toBe(false);
    expect(s.apply({ version: 'x' })).toBe(false);
    const p = parseState({ version: 1 })!;
    expect(p.questions).toEqual([]);
    expect(p.stage).toEqual([]);
    expect(p.lesson.state).toBe('idle');
    expect(p.mode).toBe('lesson');
    expect(parseState({ version: 1, mode: 'meeting' })!.mode).toBe('meeting');
  });

  it('answers queue and stage questions', () => {
    const s = new StateStore();
    s.apply(
      state(1, {
        stage: [{ classroom: 'c2', since: 5, by: 'master' }],
        questions: [q('a', 'local', 'c1', 30), q('b', 'forwarded', 'c1', 20), q('c', 'on_stage', 'c2', 10), q('d', 'done', 'c1', 1)],
        hands: [{ identity: 'p1', since: 1 }],
      }),
    );
    expect(s.onStage('c2')).toBe(true);
    expect(s.onStage('c1')).toBe(false);
    expect(s.lessonQueue().map((x) => x.id)).toEqual(['c', 'b']);
    expect(s.classroomQueue('c1').map((x) => x.id)).toEqual(['b', 'a']);
    expect(s.handRaised('p1')).toBe(true);
    expect(s.handRaised('p2')).toBe(false);
  });

  it('measures lesson time and waiting time', () => {
    const s = new StateStore();
    s.apply(state(1));
    expect(s.lessonElapsedMs(61_000)).toBe(60_000);
    s.apply(state(2, { lesson: { state: 'ended', started_at: 1000, ended_at: 11_000 } }));
    expect(s.lessonElapsedMs(99_000)).toBe(10_000);
    expect(waitingMs(q('a', 'local', 'c1', 1000), 4000)).toBe(3000);
    expect(formatDuration(65_000)).toBe('1:05');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
  });
});
