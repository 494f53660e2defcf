/// <reference types="vitest/config" />
import { fileURLToPath, URL } from 'node:url'

import vue from '@vitejs/plugin-vue'
import { VantResolver } from '@vant/auto-import-resolver'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import { defineConfig, type Plugin } from 'vite'

// Vant's icon font is inlined as WOFF2 with a WOFF fallback on a CDN (at.alicdn.com). Every browser
// we serve reads WOFF2, and the app must not reach outside its origin (offline campus networks, the
// CSP's font-src 'self' data:), so the remote fallback is cut from the CSS as it is imported.
// scripts/check-bundle.mjs fails the build if any stylesheet still points off-origin.
function noRemoteFonts(): Plugin {
  const remote = /,\s*url\((?:https?:)?\/\/[^)]*\)\s*format\("[^"]*"\)/g
  return {
    name: 'tongban-no-remote-fonts',
    enforce: 'pre',
    transform(code, id) {
      if (!/\.css(\?|$)/.test(id) || !code.includes('@font-face')) return null
      return { code: code.replace(remote, ''), map: null }
    },
  }
}

// The API server for `npm run dev` (the built app is served by the server itself, one origin).
const apiTarget = process.env.TONGBAN_API ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [
    noRemoteFonts(),
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
