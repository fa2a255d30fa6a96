import { describe, expect, it } from 'vitest';
import { classroomNameOf, classroomOf, hasExplicitRole, isHost, mayDraw, roleOf } from '../src/roles';
import { TypedEmitter } from '../src/emitter';

describe('roles', () => {
  it('reads the role attribute and falls back by mode', () => {
    expect(roleOf({ identity: 'a', attributes: { 'classcast.role': 'master_teacher' } })).toBe('master_teacher');
    expect(roleOf({ identity: 'a', attributes: { 'classcast.role': 'wizard' } })).toBe('classroom_display');
    expect(roleOf({ identity: 'a' }, 'meeting')).toBe('meeting_participant');
    expect(roleOf({ identity: 'a', attributes: {} }, 'lesson')).toBe('classroom_display');
    expect(hasExplicitRole({ identity: 'a', attributes: { 'classcast.role': 'admin' } })).toBe(true);
    expect(hasExplicitRole({ identity: 'a' })).toBe(false);
  });

  it('finds the classroom and its name', () => {
    const rt = { identity: 't17', name: 'Ms Li', attributes: { 'classcast.role': 'remote_teacher', 'classcast.classroom': 'yunnan-17', 'classcast.classroom_name': 'Yunnan 17' } };
    expect(classroomOf(rt)).toBe('yunnan-17');
    expect(classroomNameOf(rt)).toBe('Yunnan 17');
    expect(classroomOf({ identity: 'pc1' })).toBe('pc1');
    expect(classroomOf({ identity: 'm', attributes: { 'classcast.role': 'master_teacher' } })).toBeUndefined();
  });

  it('knows who may host and draw', () => {
    expect(isHost('master_teacher')).toBe(true);
    expect(isHost('remote_teacher')).toBe(false);
    expect(mayDraw('classroom_display', 'lesson')).toBe(false);
    expect(mayDraw('admin', 'lesson')).toBe(true);
    expect(mayDraw('meeting_participant', 'meeting')).toBe(true);
    expect(mayDraw('observer', 'meeting')).toBe(false);
  });
});

describe('TypedEmitter', () => {
  class E extends TypedEmitter<{ a: [n: number]; b: [] }> {
    fire(n: number) {
      this.emit('a', n);
      this.emit('b');
    }
  }
  it('delivers, unsubscribes, once and next', async () => {
    const e = new E();
    const got: number[] = [];
    const off = e.on('a', (n) => got.push(n));
    let onceCount = 0;
    e.once('b', () => onceCount++);
    const next = e.next('a', 1000);
    e.fire(1);
    off();
    e.fire(2);
    expect(got).toEqual([1]);
    expect(onceCount).toBe(1);
    expect(await next).toEqual([1]);
    await expect(e.next('b', 10)).rejects.toThrow(/no b event/);
  });
});
