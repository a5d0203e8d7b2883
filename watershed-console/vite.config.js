import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Built into target/classes/console so the Maven module packages it as /console/ on the classpath;
// the server serves it at /console/ (relative asset URLs: base './').
export default defineConfig({
  base: './',
  plugins: [react()],
  // `npm run dev`: hot reload, with the API of a running platform (WATERSHED_URL, default the demo's port)
  server: { proxy: { '/v1': process.env.WATERSHED_URL || 'http://127.0.0.1:7070' } },
  build: {
    outDir: 'target/classes/console',
    emptyOutDir: true,
    sourcemap: false,
    // the licence of every package the bundle carries, served beside it at /console/THIRD-PARTY-LICENSES.md
    license: { fileName: 'THIRD-PARTY-LICENSES.md' },
    target: 'es2022',
    // the pages are loaded when opened (App.jsx); ECharts (only the charts the console draws), dagre and CodeMirror
    // are their own cacheable chunks, fetched by the first page that needs them
    chunkSizeWarningLimit: 1500,
    modulePreload: { polyfill: false },
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: 'echarts', test: /node_modules[\\/](echarts|zrender)[\\/]/, priority: 30 },
            { name: 'dagre', test: /node_modules[\\/]@dagrejs[\\/]/, priority: 25 },
            { name: 'codemirror', test: /node_modules[\\/](@codemirror|@lezer|codemirror|crelt|style-mod|w3c-keyname)[\\/]/, priority: 20 },
            { name: 'vendor', test: /node_modules[\\/]/, priority: 10 },
          ],
        },
      },
    },
  },
});
