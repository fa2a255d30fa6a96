import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The classcast binary that `make run` starts; `npm run dev` proxies the API and signaling to it so
// the page can be edited with hot reload against a real server.
const server = process.env.CLASSCAST_URL ?? 'http://127.0.0.1:7880';
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  // Relative asset URLs, so the embedded app works wherever the Go server mounts it.
  base: './',
  resolve: {
    // The classroom SDK is compiled from its sources, and it must share this app's single copy of
    // livekit-client (the SDK has livekit-client only as a peer dependency).
    alias: {
      '@classcast/classroom': here('../client-sdk/js/src/index.ts'),
      'livekit-client': here('./node_modules/livekit-client'),
    },
    dedupe: ['livekit-client'],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // livekit-client alone is ~560 kB minified, hls.js ~400 kB; one chunk is fine for this app.
    chunkSizeWarningLimit: 1200,
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': server,
      '/rtc': { target: server, ws: true },
      '/twirp': server,
      '/media': server,
    },
  },
});
