/// <reference types="vite/client" />

// Element Plus's per-component style entries (CSS only).
declare module 'element-plus/es/components/*/style/css.mjs'
