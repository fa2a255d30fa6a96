// Draws whiteboard strokes on a 2D canvas context. Coordinates are 0..1 of the page, so the same
// strokes render at any size; widths are in 1/1000 of the page width.
import type { Stroke } from './protocol';

export const PAGE_ASPECT = 16 / 9;
export const BOARD_BACKGROUND = '#ffffff';

type Ctx = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

export function renderPage(ctx: Ctx, strokes: readonly Stroke[], width: number, height: number): void {
  ctx.save();
  ctx.globalCompositeOperation = 'source-over';
  ctx.globalAlpha = 1;
  ctx.fillStyle = BOARD_BACKGROUND;
  ctx.fillRect(0, 0, width, height);
  for (const s of strokes) drawStroke(ctx, s, width, height);
  ctx.restore();
}

export function drawStroke(ctx: Ctx, s: Stroke, width: number, height: number): void {
  const pts = s.points;
  if (pts.length === 0) return;
  const lw = Math.max(1, (s.width * width) / 1000);
  ctx.save();
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = s.color;
  ctx.fillStyle = s.color;
  ctx.lineWidth = lw;
  if (s.tool === 'highlighter') {
    ctx.globalAlpha = 0.35;
    ctx.lineWidth = lw * 3;
  }
  if (s.tool === 'eraser') {
    // Erasing paints the page background, so the canvas (and its captured video) stays opaque.
    ctx.strokeStyle = BOARD_BACKGROUND;
    ctx.lineWidth = lw * 4;
  }
  const X = (i: number) => pts[i]![0] * width;
  const Y = (i: number) => pts[i]![1] * height;
  const last = pts.length - 1;
  ctx.beginPath();
  switch (s.tool) {
    case 'pen':
    case 'highlighter':
    case 'eraser':
      ctx.moveTo(X(0), Y(0));
      if (pts.length === 1) ctx.lineTo(X(0) + 0.01, Y(0));
      for (let i = 1; i < pts.length; i++) ctx.lineTo(X(i), Y(i));
      ctx.stroke();
      break;
    case 'line':
      ctx.moveTo(X(0), Y(0));
      ctx.lineTo(X(last), Y(last));
      ctx.stroke();
      break;
    case 'arrow': {
      const x0 = X(0);
      const y0 = Y(0);
      const x1 = X(last);
      const y1 = Y(last);
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      const a = Math.atan2(y1 - y0, x1 - x0);
      const head = Math.max(8, lw * 4);
      ctx.moveTo(x1, y1);
      ctx.lineTo(x1 - head * Math.cos(a - Math.PI / 7), y1 - head * Math.sin(a - Math.PI / 7));
      ctx.moveTo(x1, y1);
      ctx.lineTo(x1 - head * Math.cos(a + Math.PI / 7), y1 - head * Math.sin(a + Math.PI / 7));
      ctx.stroke();
      break;
    }
    case 'rect':
      ctx.strokeRect(X(0), Y(0), X(last) - X(0), Y(last) - Y(0));
      break;
    case 'ellipse': {
      const cx = (X(0) + X(last)) / 2;
      const cy = (Y(0) + Y(last)) / 2;
      ctx.ellipse(cx, cy, Math.abs(X(last) - X(0)) / 2, Math.abs(Y(last) - Y(0)) / 2, 0, 0, Math.PI * 2);
      ctx.stroke();
      break;
    }
    case 'text':
      ctx.font = `${Math.max(12, lw * 6)}px system-ui, sans-serif`;
      ctx.textBaseline = 'top';
      ctx.fillText(s.text ?? '', X(0), Y(0));
      break;
  }
  ctx.restore();
}
