/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// The API server for `npm run dev` (the built UI is embedded in the `yingji` binary
// and served same-origin, so the proxy only matters during development).
const apiTarget = process.env.YINGJI_API ?? 'http://127.0.0.1:8090'

export default defineConfig({
  plugins: [
    vue(),
    // Element Plus components are imported on demand, so a page only ships the
    // widgets it uses. The stylesheet is imported once, whole, in main.ts.
    Components({
      resolvers: [ElementPlusResolver({ importStyle: false })],
      // Written during development only: build.rs watches web/src, and a file
      // written there by every cargo build would make cargo rebuild forever.
      dts: process.env.YINGJI_CARGO_BUILD ? false : 'src/components.d.ts',
    }),
  ],
  build: {
    // maplibre-gl alone is ~800 kB minified; it lives in its own lazily loaded chunk.
    chunkSizeWarningLimit: 1100,
    sourcemap: false,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: 'maplibre', test: /node_modules[\\/]maplibre-gl/ },
            { name: 'echarts', test: /node_modules[\\/](echarts|zrender)/ },
            { name: 'element-plus', test: /node_modules[\\/](element-plus|@element-plus|@floating-ui|@vueuse|dayjs|lodash)/ },
            { name: 'vue', test: /node_modules[\\/](@vue|vue|vue-router|vue-i18n|@intlify)[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    proxy: {
      '/api': { target: apiTarget, changeOrigin: false },
      '/healthz': { target: apiTarget },
      // The public feed (/public/warnings.json, .atom, CAP, subscribe); `/public` itself is the UI's page.
      '^/public/.+': { target: apiTarget },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
})
