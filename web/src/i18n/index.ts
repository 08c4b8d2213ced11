import { computed, ref } from 'vue'
import { createI18n } from 'vue-i18n'
import elZhCn from 'element-plus/es/locale/lang/zh-cn'
import elEn from 'element-plus/es/locale/lang/en'
import zhCN from './zh-CN'
import en from './en'
import type { LabelledKey } from '../api/types'

export type Lang = 'zh-CN' | 'en'
export const LANGS: { key: Lang; label: string }[] = [
  { key: 'zh-CN', label: '中文' },
  { key: 'en', label: 'English' },
]
const STORAGE_KEY = 'yingji.lang'

function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(STORAGE_KEY)
    if (saved === 'en' || saved === 'zh-CN') return saved
  } catch {
    // Storage may be unavailable (private mode); the default is fine.
  }
  return 'zh-CN'
}

export const messages = { 'zh-CN': zhCN, en }

export const i18n = createI18n({
  legacy: false,
  locale: initialLang(),
  fallbackLocale: 'zh-CN',
  messages,
})

export const lang = ref<Lang>(i18n.global.locale.value as Lang)

/** Element Plus's own texts (pagination, date pickers, dialogs) follow the UI language. */
export const elementLocale = computed(() => (lang.value === 'en' ? elEn : elZhCn))

export function setLang(l: Lang): void {
  lang.value = l
  i18n.global.locale.value = l
  document.documentElement.lang = l
  try {
    localStorage.setItem(STORAGE_KEY, l)
  } catch {
    // Not persisted; the choice still applies to this page.
  }
}

/** The label of a server-provided key (flags, kinds, roles) in the current language. */
export function labelOf(item: { zh: string; en?: string } | undefined | null, fallback = ''): string {
  if (!item) return fallback
  return lang.value === 'en' && item.en ? item.en : item.zh
}

export function labelFor(list: LabelledKey[] | undefined, key: string | null | undefined): string {
  if (!key) return ''
  return labelOf(list?.find((x) => x.key === key), key)
}
