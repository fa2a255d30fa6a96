// Video tiles: a video (or a placeholder with initials while there is none) and a caption.
import { ConnectionQuality, Track, type Participant, type RemoteTrack, type VideoTrack } from 'livekit-client';
import type { Key } from '../i18n';
import { h } from './dom';
import { setTx, tx } from './shell';

export class Tile {
  readonly el: HTMLElement;
  readonly video: HTMLVideoElement;
  private readonly caption: HTMLElement;
  private readonly badges: HTMLElement;
  private readonly placeholder: HTMLElement;
  private track?: VideoTrack;

  constructor(label: string | HTMLElement, readonly key: string) {
    this.video = h('video', { autoplay: true, playsInline: true, muted: true });
    this.placeholder = h('div.placeholder', {}, typeof label === 'string' ? initials(label) : '…');
    this.caption = h('span.name', {}, label);
    this.badges = h('span.badges');
    this.el = h('figure.tile', { dataset: { key, hasVideo: 'false' } }, this.placeholder, this.video, h('figcaption', {}, this.caption, this.badges));
  }

  setLabel(label: string | HTMLElement): void {
    this.caption.replaceChildren(label);
    if (typeof label === 'string') this.placeholder.textContent = initials(label);
  }

  setTrack(track: VideoTrack | undefined): void {
    if (track === this.track) return;
    this.track?.detach(this.video);
    this.track = track;
    if (track) track.attach(this.video);
    this.el.dataset.hasVideo = String(Boolean(track));
  }

  get currentTrack(): VideoTrack | undefined {
    return this.track;
  }

  /** Replaces the badges (small labels after the name). */
  setBadges(...items: HTMLElement[]): void {
    this.badges.replaceChildren(...items);
  }

  setFlag(name: string, on: boolean): void {
    this.el.classList.toggle(name, on);
  }

  dispose(): void {
    this.setTrack(undefined);
    this.el.remove();
  }
}

export function initials(s: string): string {
  const parts = s.trim().split(/[\s_-]+/).filter(Boolean);
  if (parts.length === 0) return '?';
  if (/[\u4e00-\u9fff]/.test(s)) return s.trim().slice(0, 2);
  return parts
    .slice(0, 2)
    .map((p) => p[0]!.toUpperCase())
    .join('');
}

export function badge(key: Key, kind = ''): HTMLElement {
  const el = h('span.badge', { className: `badge ${kind}` }, tx(key));
  return el;
}

/** The camera (or a given source) video track a participant publishes, if subscribed. */
export function videoOf(p: Participant, source: Track.Source = Track.Source.Camera): VideoTrack | undefined {
  const pub = p.getTrackPublication(source);
  const track = pub?.track;
  return track && track.kind === Track.Kind.Video && !pub.isMuted ? (track as VideoTrack) : undefined;
}

/** Plays remote audio tracks in hidden elements inside container. */
export function playAudio(container: HTMLElement, track: RemoteTrack, identity: string): void {
  if (track.kind !== Track.Kind.Audio) return;
  if (container.querySelector(`audio[data-sid="${CSS.escape(track.sid ?? '')}"]`)) return;
  const el = track.attach() as HTMLAudioElement;
  el.dataset.sid = track.sid ?? '';
  el.dataset.identity = identity;
  container.append(el);
}

export function stopAudio(track: RemoteTrack): void {
  if (track.kind !== Track.Kind.Audio) return;
  for (const el of track.detach()) el.remove();
}

const QUALITY: Record<ConnectionQuality, { key: Key; bars: number; kind: string }> = {
  [ConnectionQuality.Excellent]: { key: 'qualityExcellent', bars: 3, kind: 'ok' },
  [ConnectionQuality.Good]: { key: 'qualityGood', bars: 2, kind: 'ok' },
  [ConnectionQuality.Poor]: { key: 'qualityPoor', bars: 1, kind: 'warn' },
  [ConnectionQuality.Lost]: { key: 'qualityLost', bars: 0, kind: 'bad' },
  [ConnectionQuality.Unknown]: { key: 'qualityUnknown', bars: 0, kind: 'idle' },
};

/** A signal-bars indicator for livekit's ConnectionQuality. */
export class QualityIndicator {
  readonly el: HTMLElement;
  private readonly text: HTMLElement;
  private readonly bars: HTMLElement[];

  constructor() {
    this.bars = [1, 2, 3].map((i) => h('i', { dataset: { bar: String(i) } }));
    this.text = tx('qualityUnknown');
    this.el = h('span.quality', { dataset: { region: 'quality', kind: 'idle' } }, h('span.bars', { 'aria-hidden': 'true' }, ...this.bars), h('span.ql', {}, tx('quality'), ': '), this.text);
  }

  set(q: ConnectionQuality): void {
    const v = QUALITY[q] ?? QUALITY[ConnectionQuality.Unknown];
    this.el.dataset.kind = v.kind;
    this.el.dataset.quality = q;
    this.bars.forEach((b, i) => b.classList.toggle('on', i < v.bars));
    setTx(this.text, v.key);
  }
}
