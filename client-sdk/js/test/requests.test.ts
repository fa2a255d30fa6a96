import { afterEach, describe, expect, it, vi } from 'vitest';
import { RequestClient, RequestError } from '../src/requests';
import type { Request } from '../src/protocol';

afterEach(() => vi.useRealTimers());

describe('RequestClient', () => {
  it('sends requests with unique ids and resolves on ok', async () => {
    const sent: Request[] = [];
    const c = new RequestClient({ send: async (r) => void sent.push(r), prefix: 't' });
    const p1 = c.request('stage.add', { classroom: 'c1' });
    const p2 = c.request('question.raise', { text: 'why?' });
    expect(sent).toEqual([
      { id: 't-1', type: 'stage.add', classroom: 'c1' },
      { id: 't-2', type: 'question.raise', text: 'why?' },
    ]);
    expect(c.handleResponse({ id: 't-2', ok: true })).toBe(true);
    expect(c.handleResponse({ id: 't-1', ok: true })).toBe(true);
    await expect(p1).resolves.toBeUndefined();
    await expect(p2).resolves.toBeUndefined();
    expect(c.inFlight).toBe(0);
  });

  it('rejects with the server error code and message', async () => {
    const c = new RequestClient({ send: async () => {}, prefix: 't' });
    const p = c.request('lesson.start', {});
    c.handleResponse({ id: 't-1', ok: false, error: 'not_allowed', message: 'only the master may start' });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).code).toBe('not_allowed');
    expect((err as RequestError).message).toBe('only the master may start');
    expect((err as RequestError).requestType).toBe('lesson.start');
  });

  it('times out, and ignores late or unknown answers', async () => {
    vi.useFakeTimers();
    const c = new RequestClient({ send: async () => {}, prefix: 't', timeoutMs: 100 });
    const p = c.request('state.sync', {});
    const caught = p.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(101);
    expect(((await caught) as RequestError).code).toBe('timeout');
    expect(c.handleResponse({ id: 't-1', ok: true })).toBe(false);
    expect(c.handleResponse({ ok: true })).toBe(false);
    expect(c.handleResponse('x')).toBe(false);
  });

  it('rejects when sending fails and when closed', async () => {
    const failing = new RequestClient({ send: async () => { throw new Error('no channel'); } });
    await expect(failing.request('hand.raise', {})).rejects.toMatchObject({ code: 'send_failed' });
    const c = new RequestClient({ send: async () => {} });
    const p = c.request('hand.raise', {});
    c.close();
    await expect(p).rejects.toMatchObject({ code: 'closed' });
    expect(c.inFlight).toBe(0);
  });
});
