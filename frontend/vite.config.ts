import { defineConfig } from 'vitest/config';

// Dev: `npm run dev` proxies the API to a running `sentinel serve` (SENTINEL_URL,
// default http://127.0.0.1:8080).
const target = process.env.SENTINEL_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    target: 'es2022',
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      '/api': { target, changeOrigin: false },
      '/health': { target },
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
