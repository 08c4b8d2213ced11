// The alarm sound: a short two-tone beep made with the Web Audio API (an
// oscillator, no audio file, so it works offline). Browsers let a page make sound
// only after the user has interacted with it, so the AudioContext is created on
// the first click or key press (`armAudioOnFirstGesture`); before that `beep()`
// is silent and returns false. Muting is remembered in localStorage.

import { ref } from 'vue'

const MUTE_KEY = 'yingji.alarmSound'

function initialMuted(): boolean {
  try {
    return localStorage.getItem(MUTE_KEY) === 'off'
  } catch {
    return false
  }
}

/** The user turned the alarm sound off. */
export const muted = ref(initialMuted())
/** The browser allows sound (an interaction has happened and the context runs). */
export const audioReady = ref(false)

export function setMuted(m: boolean): void {
  muted.value = m
  try {
    localStorage.setItem(MUTE_KEY, m ? 'off' : 'on')
  } catch {
    // Not persisted; still applies to this tab.
  }
  if (!m) unlockAudio()
}

let ctx: AudioContext | null = null

/** Creates or resumes the AudioContext; call from a user gesture. */
export function unlockAudio(): void {
  try {
    if (!ctx) {
      const Ctor = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext
      if (!Ctor) return
      ctx = new Ctor()
      ctx.onstatechange = () => (audioReady.value = ctx?.state === 'running')
    }
    if (ctx.state === 'suspended') void ctx.resume().then(() => (audioReady.value = ctx?.state === 'running'))
    audioReady.value = ctx.state === 'running'
  } catch {
    ctx = null
  }
}

let armed = false
/** Unlocks audio on the first pointer or key event of the page. */
export function armAudioOnFirstGesture(): void {
  if (armed || typeof window === 'undefined') return
  armed = true
  const once = () => {
    unlockAudio()
    if (audioReady.value || ctx) {
      window.removeEventListener('pointerdown', once, true)
      window.removeEventListener('keydown', once, true)
    }
  }
  window.addEventListener('pointerdown', once, true)
  window.addEventListener('keydown', once, true)
}

let lastBeep = -Infinity
/** A burst of alarms beeps once, not once per alarm. */
const MIN_GAP_S = 1.5

/** Plays the alarm beep unless muted; false when the browser does not allow sound yet. */
export function beep(): boolean {
  if (muted.value || !ctx || ctx.state !== 'running') return false
  if (ctx.currentTime - lastBeep < MIN_GAP_S) return true
  lastBeep = ctx.currentTime
  const t0 = ctx.currentTime + 0.01
  // Two short tones, high then higher: audible over an office, not a siren.
  for (const [i, freq] of [880, 1175].entries()) {
    const start = t0 + i * 0.22
    const osc = ctx.createOscillator()
    const gain = ctx.createGain()
    osc.type = 'square'
    osc.frequency.value = freq
    gain.gain.setValueAtTime(0.0001, start)
    gain.gain.exponentialRampToValueAtTime(0.15, start + 0.01)
    gain.gain.setValueAtTime(0.15, start + 0.15)
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.18)
    osc.connect(gain).connect(ctx.destination)
    osc.start(start)
    osc.stop(start + 0.2)
  }
  return true
}
