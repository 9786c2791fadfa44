// Builds the dashboard into the metadata service's package, which serves it at "/".
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

export default defineConfig({
  plugins: [preact()],
  base: '/',
  build: {
    outDir: '../services/metadata/src/headrace_metadata/dashboard/static',
    emptyOutDir: true,
    chunkSizeWarningLimit: 700,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8765', '/login': 'http://127.0.0.1:8765' } },
});
