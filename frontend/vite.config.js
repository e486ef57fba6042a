import { defineConfig } from 'vite';

// The bundle is served by `embver ui` from the installed package: no CDN, no web fonts.
export default defineConfig({
  base: '/',
  build: {
    outDir: '../src/embver/server/static/dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
});
