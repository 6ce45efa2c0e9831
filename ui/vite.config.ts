import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The production build uses Vite's default single entry, index.html. mock.html (the
// mocked-IPC entry for the browser tests) is only served by the dev server and never lands
// in dist/; do not add it to build inputs.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: {
    // The port the Tauri shell's devUrl points at.
    port: 1420,
    strictPort: true,
    host: '127.0.0.1',
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
  },
});
