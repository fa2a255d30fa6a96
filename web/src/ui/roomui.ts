// Pieces shared by the in-room pages: connection status, lesson status and timer, recording
// indicator, the "server has no classroom features" banner, question rows.
import { formatDuration, waitingMs, type Classroom, type Question } from '@classcast/classroom';
import { ConnectionState, RoomEvent } from 'livekit-client';
import { t, type Key } from '../i18n';
import { h, toast } from './dom';
import { setPill, setTx, statusPill, tx } from './shell';

export function connectionPill(c: Classroom): HTMLElement {
  const el = statusPill('connecting', 'idle');
  el.dataset.region = 'connection';
  const set = () => {
    const s = c.room.state;
    if (s === ConnectionState.Connected) setPill(el, 'connected', 'ok');
    else if (s === ConnectionState.Reconnecting || s === ConnectionState.SignalReconnecting) setPill(el, 'reconnecting', 'warn');
    else if (s === ConnectionState.Disconnected) setPill(el, 'disconnected', 'bad');
    else setPill(el, 'connecting', 'idle');
  };
  c.room.on(RoomEvent.ConnectionStateChanged, set);
  set();
  return el;
}

/** Lesson phase and elapsed time, updated every second. */
export function lessonPill(c: Classroom): { el: HTMLElement; dispose: () => void } {
  const el = statusPill('lessonIdle', 'idle');
  el.dataset.region = 'lesson';
  const timer = h('span.timer');
  el.append(timer);
  const tick = () => {
    const l = c.state.lesson;
    const kind = l.state === 'live' ? 'live' : l.state === 'ended' ? 'idle' : 'idle';
    setPill(el, l.state === 'live' ? 'lessonLive' : l.state === 'ended' ? 'lessonEnded' : 'lessonIdle', kind as 'idle');
    el.dataset.kind = kind;
    timer.textContent = l.started_at ? ` ${formatDuration(c.store.lessonElapsedMs())}` : '';
  };
  const iv = setInterval(tick, 1000);
  const off = c.on('state', tick);
  tick();
  return { el, dispose: () => (clearInterval(iv), off()) };
}

/** "REC" while the room is being recorded (livekit's room.isRecording). */
export function recIndicator(c: Classroom): HTMLElement {
  const el = h('span.rec', { dataset: { region: 'rec' } }, h('i'), tx('notRecording'));
  const set = () => {
    const on = c.room.isRecording;
    el.dataset.on = String(on);
    setTx(el.querySelector('span')!, on ? 'recording' : 'notRecording');
  };
  c.room.on(RoomEvent.RecordingStatusChanged, set);
  set();
  return el;
}

/** A banner shown while the server has sent no classroom state. */
export function serverBanner(c: Classroom): HTMLElement {
  const el = h('div.banner', { hidden: true, dataset: { region: 'banner' } }, tx('serverBasic'));
  void c.waitForServer(4000).then((ok) => {
    el.hidden = ok;
    document.body.dataset.classroomServer = String(ok);
  });
  c.on('serverReady', () => {
    el.hidden = true;
    document.body.dataset.classroomServer = 'true';
  });
  return el;
}

/** Runs a request; on failure shows a toast naming it. */
export function act(what: Key, fn: () => Promise<void>): () => void {
  return () => {
    fn().catch((err: unknown) => toast(t('requestFailed', { what: t(what), reason: err instanceof Error ? err.message : String(err) }), 'error'));
  };
}

/** One question row: who, what, how long waiting, and actions. */
export function questionRow(q: Question, actions: HTMLElement[]): HTMLElement {
  return h(
    'li.question',
    { dataset: { id: q.id, state: q.state, classroom: q.classroom } },
    h('div.qmain', {},
      h('strong', {}, q.classroom_name || q.classroom),
      q.text ? h('span.qtext', {}, q.text) : null,
      h('span.qwait', { dataset: { since: String(q.raised_at) } }, tx('waiting', { t: formatDuration(waitingMs(q)) })),
    ),
    h('div.qactions', {}, ...actions),
  );
}

/** Updates the "waiting m:ss" labels every second. */
export function tickWaiting(root: HTMLElement): () => void {
  const iv = setInterval(() => {
    for (const el of root.querySelectorAll<HTMLElement>('.qwait > span')) {
      setTx(el, 'waiting', { t: formatDuration(Math.max(0, Date.now() - Number(el.parentElement!.dataset.since))) });
    }
  }, 1000);
  return () => clearInterval(iv);
}

export function emptyNote(key: Key): HTMLElement {
  return h('p.empty', {}, tx(key));
}

export function leaveButton(c: Classroom): HTMLElement {
  return h('button.danger', { type: 'button', dataset: { action: 'leave' }, onclick: () => {
    void c.disconnect().finally(() => (location.hash = '#/'));
  } }, tx('leave'));
}

/** A button showing an on/off state; call the returned element's sync() (via resync) after changes. */
export function toggleButton(onKey: Key, offKey: Key, get: () => boolean, set: (on: boolean) => Promise<unknown>, c?: Classroom): HTMLButtonElement {
  const b = h('button.toggle', { type: 'button' });
  const label = tx(get() ? onKey : offKey);
  b.append(label);
  const sync = () => {
    b.setAttribute('aria-pressed', String(get()));
    setTx(label, get() ? onKey : offKey);
  };
  b.addEventListener('click', () => {
    void set(!get()).catch((e: unknown) => toast(String(e), 'error')).finally(sync);
  });
  sync();
  // The state also changes from outside (publishing at join, a host muting us).
  c?.room.on(RoomEvent.LocalTrackPublished, sync).on(RoomEvent.LocalTrackUnpublished, sync).on(RoomEvent.TrackMuted, sync).on(RoomEvent.TrackUnmuted, sync);
  return b;
}
