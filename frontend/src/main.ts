import { createPinia } from 'pinia'
import { createApp } from 'vue'

import App from './App.vue'
import { applyLocale, i18n } from './locales'
import { buildRouter } from './router'
import './styles/base.css'

const app = createApp(App)
app.use(createPinia())
app.use(i18n)
applyLocale()
app.use(buildRouter())
app.mount('#app')
