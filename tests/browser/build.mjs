// Bundles the test page (page/main.ts + livekit-client) into dist/ with esbuild. No type checking
// here: `npm run build` runs tsc first.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');

await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(here, 'page', 'main.ts')],
  outfile: join(out, 'page.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'chrome120',
  sourcemap: true,
  logLevel: 'warning',
});
await copyFile(join(here, 'page', 'index.html'), join(out, 'index.html'));
