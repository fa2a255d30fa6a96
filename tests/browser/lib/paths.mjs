import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** tests/browser */
export const testsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The repository root (the Go module). */
export const repoRoot = resolve(testsDir, '..', '..');
/** The bundled test page (build.mjs). */
export const pageDir = join(testsDir, 'dist');

/** Directory for screenshots and logs of one test, created on demand (gitignored). */
export function artifactsDir(name) {
  const dir = join(testsDir, 'artifacts', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
