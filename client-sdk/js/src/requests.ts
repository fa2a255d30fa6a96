// Request/response over data packets: each request gets an id, the server answers on
// classcast.res with the same id; no answer within the timeout rejects.
import type { ErrorCode, Request, RequestBodies, RequestType, Response } from './protocol';

export class RequestError extends Error {
  constructor(
    /** Server error code, or 'timeout' / 'closed' / 'send_failed' from the client. */
    readonly code: ErrorCode | 'timeout' | 'closed' | 'send_failed' | string,
    message: string,
    readonly requestType?: RequestType,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

interface Pending {
  type: RequestType;
  resolve: () => void;
  reject: (err: RequestError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export interface RequestClientOptions {
  /** Sends one request JSON object on classcast.req. */
  send: (req: Request) => Promise<void>;
  timeoutMs?: number;
  /** Id prefix, so ids of several clients never collide in logs. */
  prefix?: string;
}

export class RequestClient {
  private readonly pending = new Map<string, Pending>();
  private counter = 0;
  private readonly prefix: string;
  readonly timeoutMs: number;

  constructor(private readonly opts: RequestClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.prefix = opts.prefix ?? Math.random().toString(36).slice(2, 8);
  }

  nextId(): string {
    this.counter += 1;
    return `${this.prefix}-${this.counter}`;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends a request; resolves on ok, rejects with RequestError otherwise. */
  request<T extends RequestType>(type: T, body: RequestBodies[T], timeoutMs = this.timeoutMs): Promise<void> {
    const id = this.nextId();
    const req = { ...body, id, type } as Request<T>;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError('timeout', `${type}: no answer within ${timeoutMs} ms`, type));
      }, timeoutMs);
      this.pending.set(id, { type, resolve, reject, timer });
      this.opts.send(req as Request).catch((err: unknown) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new RequestError('send_failed', `${type}: ${String(err)}`, type));
      });
    });
  }

  /** Handles a classcast.res payload; returns whether it answered a pending request. */
  handleResponse(raw: unknown): boolean {
    if (typeof raw !== 'object' || raw === null) return false;
    const res = raw as Response;
    if (typeof res.id !== 'string') return false;
    const p = this.pending.get(res.id);
    if (!p) return false;
    this.pending.delete(res.id);
    clearTimeout(p.timer);
    if (res.ok) {
      p.resolve();
    } else {
      p.reject(new RequestError(res.error, res.message || res.error, p.type));
    }
    return true;
  }

  /** Rejects everything in flight (on disconnect). */
  close(reason = 'disconnected'): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RequestError('closed', `${p.type}: ${reason}`, p.type));
      this.pending.delete(id);
    }
  }
}
