/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url'

import vue from '@vitejs/plugin-vue'
import { VantResolver } from '@vant/auto-import-resolver'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import { defineConfig } from 'vite'

// The API server for `npm run dev` (the built app is served by the server itself, one origin).
const apiTarget = process.env.TONGBAN_API ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [
    vue(),
    // Element Plus (PC) and Vant (phone) components are imported on demand, each with its own
    // CSS, so a page only loads the components it uses.
    Components({
      dts: 'src/components.d.ts',
      resolvers: [ElementPlusResolver({ importStyle: 'css' }), VantResolver({ importStyle: 'css' })],
    }),
  ],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    proxy: {
      '/api': apiTarget,
      '/verify': apiTarget,
      '/.well-known': apiTarget,
      '/readyz': apiTarget,
    },
  },
  build: {
    // scripts/check-bundle.mjs reads the manifest to measure what each page loads.
    manifest: true,
    target: 'es2022',
    chunkSizeWarningLimit: 800,
  },
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
    css: false,
    server: { deps: { inline: ['element-plus', 'vant'] } },
  },
})
