import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

/**
 * Builds the UI into `dist/ui` (index.html plus content-hashed files under `assets/`), which
 * `keel server` serves at `/`. `keel-source` makes `@keel/core` resolve to its TypeScript sources,
 * so the UI builds without `tsc -b` having run first. `npm run dev -w @keel/web` proxies the API
 * to a `keel server` on 127.0.0.1:5000.
 */
export default defineConfig({
  plugins: [react()],
  resolve: { conditions: ['keel-source', ...defaultClientConditions] },
  build: {
    outDir: 'dist/ui',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    proxy: {
      '/ajax-api': 'http://127.0.0.1:5000',
      '/api': 'http://127.0.0.1:5000',
      // The deployment pages read readiness and the Prometheus metrics outside the API prefixes.
      '/metrics': 'http://127.0.0.1:5000',
      '^/deployments/[^/]+/ready$': 'http://127.0.0.1:5000',
    },
  },
});
