import { createApp } from 'vue'
import 'element-plus/dist/index.css'
import './style.css'
import App from './App.vue'
import { i18n } from './i18n'
import { router } from './router'
import { setUnauthorizedHandler } from './api/client'
import { clearSession, session } from './session'

// Any 401 means the session is gone (expired, logged out elsewhere, user disabled):
// forget the user and go back to the login page, remembering where we were.
setUnauthorizedHandler(() => {
  const wasSignedIn = session.user !== null
  clearSession()
  const current = router.currentRoute.value
  if (current.name !== 'login') {
    router.push({
      name: 'login',
      query: { redirect: current.fullPath, ...(wasSignedIn ? { expired: '1' } : {}) },
    })
  }
})

document.documentElement.lang = i18n.global.locale.value
createApp(App).use(i18n).use(router).mount('#app')
