// The whiteboard on screen: renders a WhiteboardModel page on a canvas that fits its box at 16:9,
// lets a teacher draw (pen, highlighter, eraser, shapes), and can also render into a fixed
// 1280x720 canvas whose captureStream() is published as a screen-share track for plain LiveKit
// clients.
import {
  PAGE_ASPECT,
  renderPage,
  drawStroke,
  roundPoint,
  thinPoints,
  type Classroom,
  type Point,
  type Stroke,
  type Tool,
} from '@classcast/classroom';
import { LocalVideoTrack, Track } from 'livekit-client';
import type { Key } from '../i18n';
import { t } from '../i18n';
import { h, toast } from './dom';
import { i18nAttr, setTx, tx } from './shell';

const COLORS = ['#111827', '#e11d48', '#2563eb', '#16a34a', '#d97706', '#7c3aed'];
const WIDTHS: { key: Key; width: number }[] = [
  { key: 'thin', width: 2 },
  { key: 'medium', width: 4 },
  { key: 'thick', width: 8 },
];
const TOOL_KEYS: { tool: Tool; key: Key; icon: string }[] = [
  { tool: 'pen', key: 'toolPen', icon: '✎' },
  { tool: 'highlighter', key: 'toolHighlighter', icon: '▍' },
  { tool: 'eraser', key: 'toolEraser', icon: '⌫' },
  { tool: 'line', key: 'toolLine', icon: '╱' },
  { tool: 'arrow', key: 'toolArrow', icon: '➚' },
  { tool: 'rect', key: 'toolRect', icon: '▭' },
  { tool: 'ellipse', key: 'toolEllipse', icon: '◯' },
];
const CAPTURE_W = 1280;
const CAPTURE_H = 720;

export interface WhiteboardViewOptions {
  editable: boolean;
}

export class WhiteboardView {
  readonly el: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly stage: HTMLElement;
  private readonly pageLabel: HTMLElement;
  private tool: Tool = 'pen';
  private color = COLORS[0]!;
  private width = 4;
  private drawing?: { points: Point[]; pointerId: number };
  private capture?: { canvas: HTMLCanvasElement; track: LocalVideoTrack; timer: ReturnType<typeof setInterval> };
  private readonly offs: Array<() => void> = [];
  private readonly resizeObserver: ResizeObserver;
  private frame = 0;

  constructor(
    private readonly classroom: Classroom,
    readonly opts: WhiteboardViewOptions,
  ) {
    this.canvas = h('canvas.board', { 'aria-label': 'whiteboard' });
    this.stage = h('div.board-stage', {}, this.canvas);
    this.pageLabel = h('span.pagelabel');
    this.el = h('section.whiteboard', { dataset: { region: 'whiteboard' } });
    if (opts.editable) this.el.append(this.toolbar());
    else this.el.append(h('div.board-caption', {}, tx('whiteboard'), this.pageLabel));
    this.el.append(this.stage);
    this.resizeObserver = new ResizeObserver(() => this.layout());
    this.resizeObserver.observe(this.stage);
    const wb = classroom.whiteboard;
    this.offs.push(
      classroom.on('whiteboard', (page) => page === wb.currentPage && this.schedule()),
      classroom.on('whiteboardPage', () => this.schedule()),
    );
    if (opts.editable) this.wirePointer();
    this.schedule();
  }

  private toolbar(): HTMLElement {
    const group = (cls: string, ...items: HTMLElement[]) => h('div.tb-group', { className: `tb-group ${cls}` }, ...items);
    const tools = TOOL_KEYS.map(({ tool, key, icon }) =>
      i18nAttr(
        h('button.tool', {
          type: 'button',
          dataset: { tool },
          'aria-pressed': String(tool === this.tool),
          onclick: () => {
            this.tool = tool;
            this.syncPressed();
          },
        }, icon),
        'title',
        key,
      ),
    );
    const colors = COLORS.map((c) =>
      h('button.swatch', {
        type: 'button',
        title: c,
        dataset: { color: c },
        style: { background: c },
        'aria-pressed': String(c === this.color),
        onclick: () => {
          this.color = c;
          this.syncPressed();
        },
      }),
    );
    const widths = WIDTHS.map(({ key, width }) =>
      i18nAttr(
        h('button.width', {
          type: 'button',
          dataset: { width: String(width) },
          'aria-pressed': String(width === this.width),
          onclick: () => {
            this.width = width;
            this.syncPressed();
          },
        }, h('i', { style: { height: `${Math.max(2, width)}px` } })),
        'title',
        key,
      ),
    );
    const wb = this.classroom.whiteboard;
    const act = (key: Key, fn: () => Promise<void> | void, cls = '') =>
      h('button.act', { type: 'button', className: `act ${cls}`, dataset: { action: key }, onclick: () => void Promise.resolve(fn()).catch((e: unknown) => toast(String(e), 'error')) }, tx(key));
    const pager = h(
      'div.tb-group.pager',
      {},
      i18nAttr(h('button.act', { type: 'button', dataset: { action: 'prevPage' }, onclick: () => this.goto(wb.currentPage - 1) }, '‹'), 'title', 'prevPage'),
      this.pageLabel,
      i18nAttr(h('button.act', { type: 'button', dataset: { action: 'nextPage' }, onclick: () => this.goto(wb.currentPage + 1) }, '›'), 'title', 'nextPage'),
      act('addPage', () => this.goto(wb.pageCount)),
    );
    const share = h('input', { type: 'checkbox', dataset: { action: 'share' }, onchange: (e: Event) => void this.setShared((e.target as HTMLInputElement).checked) });
    return h(
      'div.toolbar',
      { role: 'toolbar' },
      group('tools', ...tools),
      group('colors', ...colors),
      group('widths', ...widths),
      group('edit', act('undo', () => this.classroom.undo()), act('clear', () => this.classroom.clearPage(), 'danger')),
      pager,
      h('label.share', {}, share, tx('shareBoard')),
    );
  }

  private syncPressed(): void {
    for (const b of this.el.querySelectorAll<HTMLElement>('[data-tool]')) b.setAttribute('aria-pressed', String(b.dataset.tool === this.tool));
    for (const b of this.el.querySelectorAll<HTMLElement>('[data-color]')) b.setAttribute('aria-pressed', String(b.dataset.color === this.color));
    for (const b of this.el.querySelectorAll<HTMLElement>('[data-width]')) b.setAttribute('aria-pressed', String(Number(b.dataset.width) === this.width));
  }

  private goto(page: number): void {
    if (page < 0) return;
    this.classroom.showPage(page).catch((e: unknown) => toast(String(e), 'error'));
    this.schedule();
  }

  /** Fits the canvas into its box at 16:9 and redraws. */
  private layout(): void {
    const box = this.stage.getBoundingClientRect();
    if (box.width < 10 || box.height < 10) return;
    let w = box.width;
    let hgt = w / PAGE_ASPECT;
    if (hgt > box.height) {
      hgt = box.height;
      w = hgt * PAGE_ASPECT;
    }
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    this.canvas.style.width = `${Math.floor(w)}px`;
    this.canvas.style.height = `${Math.floor(hgt)}px`;
    this.canvas.width = Math.floor(w * dpr);
    this.canvas.height = Math.floor(hgt * dpr);
    this.draw();
  }

  private schedule(): void {
    // Background tabs get no animation frames: draw now, so the board (and the shared
    // capture) is current when the tab comes back or is captured.
    if (document.hidden) {
      this.draw();
      return;
    }
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    const wb = this.classroom.whiteboard;
    const strokes = wb.strokes(wb.currentPage);
    const ctx = this.canvas.getContext('2d');
    if (ctx) {
      renderPage(ctx, strokes, this.canvas.width, this.canvas.height);
      if (this.drawing) drawStroke(ctx, this.previewStroke(), this.canvas.width, this.canvas.height);
    }
    setTx(this.pageLabel, 'page', { n: wb.currentPage + 1, total: Math.max(wb.pageCount, wb.currentPage + 1) });
    this.el.dataset.strokes = String(strokes.length);
    this.drawCapture();
  }

  private drawCapture(): void {
    if (!this.capture) return;
    const wb = this.classroom.whiteboard;
    const ctx = this.capture.canvas.getContext('2d');
    if (ctx) renderPage(ctx, wb.strokes(wb.currentPage), CAPTURE_W, CAPTURE_H);
  }

  private previewStroke(): Stroke {
    return { id: 'preview', tool: this.tool, color: this.color, width: this.width, points: this.drawing?.points ?? [] };
  }

  private wirePointer(): void {
    const c = this.canvas;
    c.classList.add('editable');
    const at = (e: PointerEvent): Point => {
      const r = c.getBoundingClientRect();
      return roundPoint((e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
    };
    c.addEventListener('pointerdown', (e) => {
      if (this.drawing) return;
      c.setPointerCapture(e.pointerId);
      this.drawing = { points: [at(e)], pointerId: e.pointerId };
      e.preventDefault();
    });
    c.addEventListener('pointermove', (e) => {
      if (!this.drawing || e.pointerId !== this.drawing.pointerId) return;
      const p = at(e);
      if (this.tool === 'pen' || this.tool === 'highlighter' || this.tool === 'eraser') this.drawing.points.push(p);
      else this.drawing.points = [this.drawing.points[0]!, p];
      this.schedule();
    });
    const finish = (e: PointerEvent) => {
      if (!this.drawing || e.pointerId !== this.drawing.pointerId) return;
      const pts = thinPoints(this.drawing.points);
      this.drawing = undefined;
      if (pts.length === 1 && this.tool !== 'pen' && this.tool !== 'highlighter') {
        this.schedule();
        return;
      }
      const stroke: Stroke = {
        id: this.classroom.whiteboard.newStrokeId(),
        tool: this.tool,
        color: this.color,
        width: this.width,
        points: pts.slice(0, 5000),
      };
      this.classroom.drawStroke(this.classroom.whiteboard.currentPage, stroke).catch((err: unknown) => toast(String(err), 'error'));
      this.schedule();
    };
    c.addEventListener('pointerup', finish);
    c.addEventListener('pointercancel', finish);
  }

  /** Publishes (or stops) the board as a screen-share video track. */
  async setShared(on: boolean): Promise<void> {
    const box = this.el.querySelector<HTMLInputElement>('[data-action="share"]');
    if (box) box.checked = on;
    const lp = this.classroom.room.localParticipant;
    if (!on) {
      if (!this.capture) return;
      const cap = this.capture;
      this.capture = undefined;
      clearInterval(cap.timer);
      await lp.unpublishTrack(cap.track).catch(() => undefined);
      cap.track.stop();
      return;
    }
    if (this.capture) return;
    const canvas = h('canvas', { width: CAPTURE_W, height: CAPTURE_H });
    const stream = canvas.captureStream(10);
    const mst = stream.getVideoTracks()[0];
    if (!mst) throw new Error('canvas.captureStream gave no video track');
    const track = new LocalVideoTrack(mst, undefined, false);
    // A canvas only yields frames when it is drawn; redraw once a second so late joiners and
    // keyframe requests get a picture even while nobody draws.
    const timer = setInterval(() => this.drawCapture(), 1000);
    this.capture = { canvas, track, timer };
    this.drawCapture();
    try {
      await lp.publishTrack(track, { source: Track.Source.ScreenShare, name: 'whiteboard', simulcast: false, videoCodec: 'vp8', videoEncoding: { maxBitrate: 600_000, maxFramerate: 10 } });
    } catch (err) {
      clearInterval(timer);
      this.capture = undefined;
      track.stop();
      if (box) box.checked = false;
      toast(t('requestFailed', { what: t('shareBoard'), reason: String(err) }), 'error');
    }
  }

  get shared(): boolean {
    return Boolean(this.capture);
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    for (const off of this.offs) off();
    if (this.capture) void this.setShared(false);
  }
}
