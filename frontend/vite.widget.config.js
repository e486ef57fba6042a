import { defineConfig } from 'vite';

// The notebook widget: one self-contained ES module (anywidget loads it as the widget's
// `_esm` from a string, so it can import nothing by URL) built from the same sources as
// the UI (src/widget.js over src/scatter.js). Runs after the UI's build (vite.config.js),
// which empties the folder, and adds assets/widget.js beside the UI's bundle.
export default defineConfig({
  // the bundle runs in a notebook page, not under vite: settle what libraries ask of the build
  define: { 'process.env.NODE_ENV': '"production"' },
  build: {
    outDir: '../src/embver/server/static/dist/assets',
    emptyOutDir: false,
    sourcemap: false,
    minify: true,
    chunkSizeWarningLimit: 1500,
    lib: { entry: 'src/widget.js', formats: ['es'], fileName: () => 'widget.js' },
  },
});
