// Browser smoke test of the embedded UI against a running `yingji demo`.
//
//   BASE_URL=http://127.0.0.1:8090 PASSWORD=... SCREENSHOT_DIR=/tmp/shots node tests/browser/smoke.mjs
//
// Uses playwright-core (a devDependency of web/) with the system Chromium; it
// downloads no browser. Each step prints one line; the last line is the summary
// ("N passed, N failed") and the exit code is non-zero on any failure.

import { createRequire } from 'node:module'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '../../web/package.json'))
const { chromium } = require('playwright-core')

const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8090').replace(/\/$/, '')
const PASSWORD = process.env.PASSWORD
const USERNAME = process.env.USERNAME_SMOKE || 'admin'
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || path.join(here, '../../target/screenshots')
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const MIN_ENTERPRISES = Number(process.env.MIN_ENTERPRISES || 1000)

if (!PASSWORD) {
  console.error('smoke: set PASSWORD (the demo password printed by `yingji demo`)')
  process.exit(2)
}
mkdirSync(SCREENSHOT_DIR, { recursive: true })

let passed = 0
let failed = 0
const pageErrors = []

async function step(name, fn) {
  const started = Date.now()
  try {
    await fn()
    passed++
    console.log(`ok   ${name} (${Date.now() - started} ms)`)
  } catch (e) {
    failed++
    console.log(`FAIL ${name}: ${e && e.message ? e.message.split('\n')[0] : e}`)
    throw e
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg)
}

// ---- API set-up: two sensors of our own on an enterprise the demo does not monitor, fed by
// the test itself, so that what the UI must show does not depend on the demo's simulator ----

let apiToken = ''
async function apiCall(method, p, body, token = apiToken) {
  const res = await fetch(`${BASE_URL}/api/v1${p}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text.slice(0, 200)}`)
  return text ? JSON.parse(text) : null
}

const monitoring = { enterpriseId: '', unitId: '', gatewayToken: '', sensors: [] }

/** Two level sensors on a hazard-source unit's equipment, an ingest token, and a day of normal readings. */
async function setUpMonitoring() {
  apiToken = (await apiCall('POST', '/auth/login', { username: USERNAME, password: PASSWORD }, '')).token
  // An enterprise the demo does not monitor yet, so that only our sensors colour it.
  const monitored = new Set((await apiCall('GET', '/monitoring/enterprises')).map((e) => e.enterprise_id))
  const units = await apiCall('GET', '/hazard-sources?limit=500')
  const unit =
    units.items.find((u) => u.equipment.length > 0 && u.lon !== null && !monitored.has(u.enterprise_id)) ??
    units.items.find((u) => u.equipment.length > 0)
  assert(unit, 'no hazard-source unit with equipment in the demo')
  monitoring.enterpriseId = unit.enterprise_id
  monitoring.unitId = unit.id
  // Unique codes, so the test can run again against the same database.
  const tag = Date.now().toString(36).slice(-5).toUpperCase()
  for (const [i, code] of [`SMOKE-${tag}-1`, `SMOKE-${tag}-2`].entries()) {
    const sensor = await apiCall('POST', '/sensors', {
      enterprise_id: unit.enterprise_id,
      unit_id: unit.id,
      equipment_id: unit.equipment[i % unit.equipment.length].id,
      code,
      name: `冒烟测试液位 ${i + 1}`,
      kind: 'level',
      unit_of_measure: 'm',
      range_min: 0,
      range_max: 12,
      ll: 0.5,
      l: 1,
      h: 9,
      hh: 10.5,
      deadband: 0.1,
      on_delay_s: 0,
      off_delay_s: 0,
      offline_timeout_s: 3600,
    })
    monitoring.sensors.push(sensor)
  }
  monitoring.gatewayToken = (await apiCall('POST', `/enterprises/${unit.enterprise_id}/ingest-tokens`, { name: 'smoke' })).token
  const now = Date.now()
  const readings = []
  for (let k = 24 * 12; k >= 1; k--) {
    const ts = now - k * 5 * 60_000
    for (const s of monitoring.sensors) readings.push({ sensor: s.code, ts, value: +(6 + 2 * Math.sin(k / 20)).toFixed(3) })
  }
  await ingest(readings)
}

async function ingest(readings) {
  const r = await apiCall('POST', '/ingest/readings', { readings }, monitoring.gatewayToken)
  assert(r.rejected.length === 0, `readings rejected: ${JSON.stringify(r.rejected.slice(0, 3))}`)
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
})

try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'UTC' })
  const page = await context.newPage()
  page.setDefaultTimeout(30000)
  page.on('pageerror', (e) => pageErrors.push(e.message))

  await step('login page loads', async () => {
    await page.goto(`${BASE_URL}/`)
    await page.waitForURL(/\/login/)
    await page.getByTestId('login-username').waitFor()
  })

  await step('wrong password shows the server message', async () => {
    await page.getByTestId('login-username').fill(USERNAME)
    await page.getByTestId('login-password').fill(PASSWORD + '-wrong')
    await page.getByTestId('login-submit').click()
    await page.getByTestId('login-error').waitFor()
  })

  await step(`log in as ${USERNAME}`, async () => {
    await page.getByTestId('login-password').fill(PASSWORD)
    await page.getByTestId('login-submit').click()
    await page.waitForURL((u) => !u.pathname.startsWith('/login'))
    await page.getByTestId('current-user').waitFor()
  })

  const map = page.getByTestId('one-map')
  await step('one map loads the district and the enterprises', async () => {
    await page.locator('[data-testid="one-map"][data-loaded="true"]').waitFor({ timeout: 60000 })
    const drawn = await map.getAttribute('data-district-drawn')
    assert(drawn === 'true', `district outline not drawn (data-district-drawn=${drawn})`)
    const count = Number(await map.getAttribute('data-enterprise-count'))
    assert(count > MIN_ENTERPRISES, `expected more than ${MIN_ENTERPRISES} enterprises on the map, got ${count}`)
    // The map canvas must have painted something other than the background.
    const canvasOk = await page.locator('[data-testid="one-map"] canvas').evaluate((c) => c.width > 0 && c.height > 0)
    assert(canvasOk, 'map canvas has no size')
    await page.getByTestId('town-list').locator('.town-row').first().waitFor()
  })

  await step('screenshot of the one map', async () => {
    await page.waitForTimeout(800) // cluster-count markers follow the first render
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'one-map.png') })
  })

  let enterpriseName = ''
  await step('enterprise list shows enterprises', async () => {
    await page.getByTestId('nav-enterprises').click()
    await page.waitForURL(/\/enterprises/)
    const first = page.getByTestId('enterprise-link').first()
    await first.waitFor()
    enterpriseName = (await first.textContent())?.trim() ?? ''
    assert(enterpriseName.length > 0, 'first enterprise has no name')
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'enterprises.png') })
  })

  await step('enterprise detail opens from the list', async () => {
    await page.getByTestId('enterprise-link').first().click()
    await page.getByTestId('enterprise-detail').waitFor()
    const title = (await page.getByTestId('enterprise-name').textContent())?.trim()
    assert(title === enterpriseName, `detail shows "${title}", expected "${enterpriseName}"`)
    await page.getByTestId('enterprise-detail').getByText(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}/).first().waitFor()
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'enterprise-detail.png') })
  })

  await step('major hazard sources list shows units graded by GB 18218', async () => {
    await page.getByTestId('nav-hazard-sources').click()
    await page.waitForURL(/\/hazard-sources/)
    await page.getByTestId('hazard-link').first().waitFor()
    await page.getByTestId('hazard-grade').click()
    await page.locator('.el-select-dropdown__item:visible').first().click()
    await page.waitForURL(/grade=1/)
    await page.getByTestId('hazard-table').locator('[data-grade="1"]').first().waitFor()
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'hazard-sources.png') })
  })

  await step('hazard-source unit page explains its grade term by term', async () => {
    await page.getByTestId('hazard-link').first().click()
    await page.getByTestId('eval-decision').waitFor()
    const decision = (await page.getByTestId('eval-decision').textContent()) ?? ''
    assert(/S = [\d.]+ ≥ 1/.test(decision), `decision reads "${decision}"`)
    const terms = await page.getByTestId('eval-terms').locator('tbody tr').count()
    assert(terms > 0, 'no evaluation terms shown')
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'hazard-source.png') })
  })

  await step("the unit's enterprise page lists its hazard-source units", async () => {
    await page.getByTestId('hazard-enterprise').click()
    await page.getByTestId('enterprise-detail').waitFor()
    await page.getByTestId('enterprise-hazard-units').getByTestId('enterprise-unit-link').first().waitFor()
  })

  await step('language switches to English and persists', async () => {
    await page.getByTestId('lang-switch').click()
    await page.getByTestId('lang-en').click()
    await page.getByTestId('nav-enterprises').getByText('Enterprises').waitFor()
    await page.getByText('Unified social credit code').first().waitFor()
    await page.reload()
    await page.getByTestId('nav-enterprises').getByText('Enterprises').waitFor()
  })

  await step('set up two sensors through the API and raise a HIGH alarm with a reading', async () => {
    await setUpMonitoring()
    await ingest([{ sensor: monitoring.sensors[0].code, ts: Date.now(), value: 11.2 }])
  })

  await step('the alarm console lists the alarm with its colour', async () => {
    await page.getByTestId('nav-alarms').click()
    await page.waitForURL(/\/alarms/)
    const table = page.getByTestId('alarm-table')
    await table.locator('[data-kind="HH"][data-colour="red"]').first().waitFor({ timeout: 30000 })
    await page.locator('[data-testid="live-indicator"][data-status="open"]').first().waitFor()
  })

  await step('a new HIGH alarm arrives over the live stream without a reload, flashing', async () => {
    const table = page.getByTestId('alarm-table')
    await page.getByTestId('alarm-kind').click()
    await page.locator('.el-select-dropdown__item:visible', { hasText: /^(HH|High-high|高高报)$/ }).click()
    await page.waitForURL(/kind=HH/)
    // Wait for the filtered list to replace the unfiltered one: the demo's simulator raises
    // alarms of other kinds too, and counting before the swap compares two different lists.
    await page.waitForFunction(() => {
      const t = document.querySelector('[data-testid="alarm-table"]')
      if (!t) return false
      const rows = t.querySelectorAll('tbody tr').length
      return rows > 0 && rows === t.querySelectorAll('tbody tr [data-kind="HH"], tbody tr[data-kind="HH"]').length
    }, null, { timeout: 15000 })
    const before = await table.locator('tbody tr').count()
    const marker = await page.evaluate(() => (window.__smokeMarker = Math.random()))
    await ingest([{ sensor: monitoring.sensors[1].code, ts: Date.now(), value: 11.8 }])
    await table.locator('tr.alarm-flash').first().waitFor({ timeout: 15000 })
    await page.getByTestId('alarm-notify').first().waitFor()
    // Above HH the server raises both H and HH (the demo's simulator may add others).
    const after = await table.locator('tbody tr').count()
    assert(after > before, `no new row (${before} → ${after})`)
    await table.locator('tr.alarm-flash', { hasText: monitoring.sensors[1].code }).first().waitFor()
    assert((await page.evaluate(() => window.__smokeMarker)) === marker, 'the page reloaded')
    const badge = await page.getByTestId('nav-alarms-badge').textContent()
    // The badge caps at 99+ (a long-running demo has many).
    assert(badge?.trim() === '99+' || Number(badge?.trim()) >= 2, `unacknowledged badge reads "${badge}"`)
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'alarms.png') })
  })

  await step('acknowledging stops the flash', async () => {
    const table = page.getByTestId('alarm-table')
    const row = table.locator('tbody tr', { hasText: monitoring.sensors[1].code }).first()
    assert(/alarm-flash/.test((await row.getAttribute('class')) ?? ''), 'the new HH row does not flash')
    await row.locator('[data-testid="alarm-ack"]:visible').click()
    await page.locator('.alarm-ack-box').getByRole('button', { name: /Acknowledge|确认/ }).click()
    await row.locator('[data-status="acknowledged"]').waitFor()
    assert(!/alarm-flash/.test((await row.getAttribute('class')) ?? ''), 'the acknowledged row still flashes')
  })

  await step('an alarm opens with its timeline', async () => {
    await page.getByTestId('alarm-table').locator('tbody tr', { hasText: monitoring.sensors[1].code }).first().waitFor()
    await page.locator('[data-testid="alarm-detail"]:visible').first().click()
    const drawer = page.getByTestId('alarm-drawer')
    const items = drawer.getByTestId('alarm-timeline').locator('.el-timeline-item')
    await items.first().waitFor()
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'alarm-detail.png') })
    await page.keyboard.press('Escape')
    await drawer.waitFor({ state: 'hidden' })
  })

  await step('dispose asks for the cause and measures', async () => {
    const dispose = page.locator('[data-testid="alarm-dispose"]:visible').first()
    await dispose.click()
    const dialog = page.getByTestId('dispose-dialog')
    await dialog.getByTestId('dispose-submit').click()
    await dialog.locator('.el-form-item__error').first().waitFor()
    assert((await dialog.locator('.el-form-item__error').count()) === 2, 'cause and measures not both required')
    await dialog.getByTestId('dispose-cause').fill('smoke test: faulty valve')
    await dialog.getByTestId('dispose-measures').fill('smoke test: feed valve closed, checked on site')
    await dialog.getByTestId('dispose-submit').click()
    await dialog.waitFor({ state: 'hidden' })
  })

  await step('enterprise monitoring page shows the sensors, their state and a trend with thresholds', async () => {
    await page.goto(`${BASE_URL}/enterprises/${monitoring.enterpriseId}/monitoring?sensor=${monitoring.sensors[0].id}`)
    const sensors = page.getByTestId('monitoring-sensors')
    await sensors.locator('[data-state="alarm"]').first().waitFor()
    await page.getByTestId('monitoring-units').getByTestId('monitoring-unit').first().waitFor()
    await page.getByTestId('trend-chart').locator('canvas').first().waitFor()
    await page.getByTestId('trend-range-7d').click()
    await page.waitForURL(/range=7d/)
    await page.getByTestId('trend-range-24h').click()
    await page.waitForURL(/range=24h/)
    await page.waitForTimeout(1500)
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'enterprise-monitoring.png'), fullPage: true })
  })

  await step('the one map shows monitored enterprises and the duty panel', async () => {
    await page.getByTestId('nav-map').click()
    await page.locator('[data-testid="one-map"][data-loaded="true"]').waitFor({ timeout: 60000 })
    const n = Number(await page.getByTestId('one-map').getAttribute('data-monitored-count'))
    assert(n > 0, `no monitored enterprises on the map (${n})`)
    const active = Number((await page.getByTestId('duty-active').locator('b').textContent())?.replace(/\D/g, ''))
    assert(active >= 1, `duty panel shows ${active} active alarms`)
    await page.getByTestId('duty-latest').first().waitFor()
    // The monitoring page's "on the map" link flies to the enterprise and opens its popup.
    await page.goto(`${BASE_URL}/enterprises/${monitoring.enterpriseId}/monitoring`)
    await page.getByTestId('monitoring-on-map').click()
    await page.locator('[data-testid="one-map"][data-loaded="true"]').waitFor({ timeout: 60000 })
    await page.getByTestId('monitoring-popup').waitFor()
    await page.waitForTimeout(1200)
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'one-map-monitoring.png') })
  })

  await step('the map repaints the enterprise within a second when its alarms clear', async () => {
    // The map flew to the enterprise: its point is 140 px below the centre.
    const pixel = () =>
      page.evaluate(() => {
        const c = document.querySelector('[data-testid="one-map"] canvas')
        const r = c.getBoundingClientRect()
        const scale = c.width / r.width
        const o = document.createElement('canvas')
        o.width = c.width
        o.height = c.height
        const g = o.getContext('2d')
        g.drawImage(c, 0, 0)
        const d = g.getImageData(Math.round((r.width / 2) * scale), Math.round((r.height / 2 + 140) * scale), 1, 1).data
        return [d[0], d[1], d[2]]
      })
    const red = await pixel()
    assert(red[0] > 180 && red[1] < 120, `the enterprise is not red: rgb(${red})`)
    const cleared = Date.now()
    await ingest(monitoring.sensors.map((x) => ({ sensor: x.code, ts: Date.now(), value: 6 })))
    let now = red
    while (Date.now() - cleared < 1000) {
      now = await pixel()
      if (now[1] > 120 && now[0] < 120) break
      await page.waitForTimeout(50)
    }
    assert(now[1] > 120 && now[0] < 120, `not green within a second of the readings: rgb(${now})`)
  })

  // ---- dual prevention (双重预防) ----

  await step('risk points list counts the four colours under the bands in force', async () => {
    await page.getByTestId('nav-risk-points').click()
    await page.waitForURL(/\/risk-points/)
    await page.getByTestId('risk-link').first().waitFor()
    const red = (await page.getByTestId('risk-count-red').locator('.n').textContent())?.trim() ?? ''
    assert(/^\d+$/.test(red), `red count reads "${red}"`)
    const band = (await page.getByTestId('risk-count-red').locator('.band').textContent()) ?? ''
    assert(/D > \d+/.test(band) && /R ≥ \d+/.test(band), `bands read "${band}"`)
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'risk-points.png') })
  })

  await step('the LEC calculator shows D and its colour live; saving colours the risk point', async () => {
    await page.getByTestId('risk-link').first().click()
    await page.getByTestId('risk-assess').click()
    const dialog = page.getByTestId('assess-dialog')
    await dialog.locator('.method .el-radio-button').first().click()
    await dialog.getByTestId('factor-l').locator('[data-value="6"]').click()
    await dialog.getByTestId('factor-e').locator('[data-value="6"]').click()
    await dialog.getByTestId('factor-c').locator('[data-value="15"]').click()
    const score = (await dialog.getByTestId('assess-score').textContent()) ?? ''
    assert(/= 540\b/.test(score), `score reads "${score}"`)
    await dialog.getByTestId('assess-result').locator('[data-colour="red"]').waitFor()
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'risk-assess.png') })
    await dialog.getByTestId('assess-save').click()
    await dialog.waitFor({ state: 'hidden' })
    await page.waitForFunction(() => document.querySelector('[data-testid="risk-history"] [data-colour]')?.getAttribute('data-colour') === 'red')
  })

  const hdText = `smoke ${Date.now()}: drain valve of the bund left open`
  await step('a hidden danger reported in the UI is rectified with the five in place', async () => {
    await page.goto(`${BASE_URL}/hidden-dangers/new?enterprise_id=${monitoring.enterpriseId}`)
    await page.getByTestId('hd-description').fill(hdText)
    await page.getByTestId('hd-category').click()
    await page.locator('.el-select-dropdown__item:visible').first().click()
    await page.getByTestId('hd-submit').click()
    await page.waitForURL(/\/hidden-dangers\/[0-9a-z]+$/)
    await page.locator('.page-header [data-state="reported"]').waitFor()
    await page.getByTestId('hd-do-rectify').click()
    const dialog = page.getByTestId('hd-dialog-rectify')
    await dialog.getByTestId('hd-dialog-ok').click()
    await dialog.locator('.el-form-item__error').nth(4).waitFor()
    assert((await dialog.locator('.el-form-item__error').count()) === 5, 'the five in place are not all required')
    await dialog.getByTestId('hd-measures').fill('lock the valve; key register')
    await dialog.getByTestId('hd-funds').locator('input').fill('800')
    await dialog.getByTestId('hd-responsible').fill('Zhou')
    const due = new Date(Date.now() + 30 * 86400000 + 8 * 3600000).toISOString().slice(0, 10)
    await dialog.locator('.el-date-editor input').first().fill(due)
    await dialog.locator('.el-date-editor input').first().press('Enter')
    await dialog.getByTestId('hd-contingency').fill('watch until fixed')
    await dialog.getByTestId('hd-dialog-ok').click()
    await page.locator('.page-header [data-state="rectifying"]').waitFor()
    await page.getByTestId('hd-plan').getByText(due).waitFor()
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'hidden-danger.png') })
  })

  await step('the hidden-danger board shows it under rectifying', async () => {
    await page.getByTestId('nav-hidden-dangers').click()
    await page.getByTestId('hd-view-board').click()
    await page.waitForURL(/view=board/)
    await page.locator('[data-testid="hd-board"] [data-state="rectifying"]').getByText(hdText).waitFor()
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'hidden-danger-board.png') })
  })

  await step('an alarm becomes a hidden danger from its drawer, linked both ways', async () => {
    await page.goto(`${BASE_URL}/alarms?state=all&enterprise_id=${monitoring.enterpriseId}`)
    await page.locator('[data-testid="alarm-detail"]:visible').first().click()
    const drawer = page.getByTestId('alarm-drawer')
    await drawer.getByTestId('drawer-create-hd').click()
    await page.locator('.el-message-box .el-button--primary').click()
    await drawer.getByTestId('drawer-view-hd').click()
    await page.waitForURL(/\/hidden-dangers\/[0-9a-z]+$/)
    await page.getByTestId('hd-alarm-link').waitFor()
  })

  await step('supervision, statistics and the commitment board render', async () => {
    await page.getByTestId('nav-supervision').click()
    await page.getByTestId('sup-table').waitFor()
    await page.getByTestId('nav-hd-stats').click()
    await page.getByTestId('stats-chart-group').locator('canvas').first().waitFor()
    await page.getByTestId('stats-chart-period').locator('canvas').first().waitFor()
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'hidden-danger-stats.png') })
    await page.getByTestId('nav-commitments').click()
    await page.getByTestId('cm-table').locator('tbody tr').first().waitFor()
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'commitments.png') })
  })

  // ---- early warning (预警发布): compose as duty, approve and publish as leader (four eyes),
  // the town acknowledges its relay, the public page and the one-map layer show it ----

  /** A page of its own (own cookie jar) signed in as `username` through the API. */
  async function pageAs(username) {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: 'UTC' })
    if (username) {
      const res = await ctx.request.post(`${BASE_URL}/api/v1/auth/login`, { data: { username, password: PASSWORD } })
      assert(res.ok(), `login as ${username}: HTTP ${res.status()}`)
    }
    const p = await ctx.newPage()
    p.setDefaultTimeout(30000)
    p.on('pageerror', (e) => pageErrors.push(`${username || 'public'}: ${e.message}`))
    return p
  }

  const wnHeadline = `冒烟测试 ${Date.now().toString(36)}：暴雨红色预警`
  let wnId = ''
  let townCode = ''
  let dutyPage = null
  let leaderPage = null

  await step('a warning is composed as duty: towns chosen on the map, the CAP preview appears', async () => {
    const townPage = await pageAs('town')
    townCode = (await (await townPage.request.get(`${BASE_URL}/api/v1/me`)).json()).town_code
    await townPage.context().close()
    assert(townCode, 'the demo town user has no town')
    dutyPage = await pageAs('duty')
    const p = dutyPage
    await p.goto(`${BASE_URL}/warnings/new`)
    await p.getByTestId('wn-event-type').click()
    await p.locator('.el-select-dropdown__item:visible', { hasText: /^暴雨$/ }).click()
    await p.getByTestId('wn-level').locator('[data-level="red"]').click()
    await p.getByTestId('wn-headline').fill(wnHeadline)
    await p.getByTestId('wn-description').fill('预计未来6小时内武清区大部分地区降雨量将达100毫米以上，伴有雷电和短时大风。')
    await p.getByTestId('wn-instruction').fill('停止户外作业，转移低洼地带人员，注意防范城乡积涝。')
    const picker = p.getByTestId('area-picker')
    await p.locator('[data-testid="area-picker"][data-loaded="true"]').waitFor({ timeout: 60000 })
    // A click on the map chooses the town under it, a second click takes it away again.
    await p.getByTestId('area-map').scrollIntoViewIfNeeded()
    const box = await p.getByTestId('area-map').boundingBox()
    await p.mouse.click(box.x + box.width / 2, box.y + box.height / 2)
    await picker.getByTestId('area-status').getByText(/已选 1 个镇街/).waitFor()
    await p.mouse.click(box.x + box.width / 2, box.y + box.height / 2)
    await picker.getByTestId('area-status').getByText(/已选 0 个镇街/).waitFor()
    await picker.getByTestId('area-town-list').locator(`[data-code="${townCode}"]`).click()
    await picker.getByTestId('area-status').getByText(/已选 1 个镇街/).waitFor()
    assert(((await p.getByTestId('wn-area-desc').inputValue()) ?? '').length > 0, 'the area description was not filled from the town')
    await p.locator('[data-testid="wn-preview"][data-state="ok"]').waitFor()
    const xml = (await p.getByTestId('cap-xml').textContent()) ?? ''
    assert(xml.includes('urn:oasis:names:tc:emergency:cap:1.2'), 'the preview is not a CAP 1.2 document')
    assert(xml.includes(wnHeadline), 'the preview does not carry the headline')
    assert(/\+08:00/.test(xml) && !/<sent>[^<]*Z<\/sent>/.test(xml), 'the preview times are not in +08:00')
    await p.screenshot({ path: path.join(SCREENSHOT_DIR, 'warning-compose.png'), fullPage: true })
  })

  await step('a headline over 140 characters is refused by the preview, naming the field', async () => {
    const p = dutyPage
    const input = p.getByTestId('wn-headline')
    await input.fill('长'.repeat(141))
    await p.locator('[data-testid="wn-preview"][data-state="error"]').waitFor()
    await p.locator('.el-form-item.is-error [data-testid="wn-headline"]').waitFor()
    await input.fill(wnHeadline)
    await p.locator('[data-testid="wn-preview"][data-state="ok"]').waitFor()
    assert((await p.locator('.el-form-item.is-error').count()) === 0, 'the error stayed after the fix')
  })

  await step('the duty officer submits the warning', async () => {
    const p = dutyPage
    await p.getByTestId('wn-submit').click()
    // A warning id (ULID), not /warnings/new.
    await p.waitForURL((u) => /^\/warnings\/[0-9a-z]{26}$/i.test(u.pathname))
    wnId = new URL(p.url()).pathname.split('/').pop()
    await p.locator('[data-testid="wn-detail"][data-state="submitted"]').waitFor()
    // The submitter may not approve their own warning.
    assert((await p.getByTestId('wn-step-approve').count()) === 0, 'the submitter is offered approve')
  })

  await step('the leader approves and publishes it from the approval queue; the relay board appears', async () => {
    leaderPage = await pageAs('leader')
    const p = leaderPage
    await p.goto(`${BASE_URL}/warnings/queue`)
    await p.getByTestId('wn-table').getByText(wnHeadline).click()
    await p.waitForURL(new RegExp(`/warnings/${wnId}$`))
    await p.getByTestId('wn-step-approve').click()
    await p.locator('.wn-step-approve .el-button--primary').click()
    await p.locator('[data-testid="wn-detail"][data-state="approved"]').waitFor()
    await p.getByTestId('wn-step-publish').click()
    await p.locator('.wn-step-publish .el-button--primary').click()
    await p.locator('[data-testid="wn-detail"][data-state="published"]').waitFor()
    await p.getByTestId('wn-relay-board').locator('[data-testid="wn-relay-chip"][data-state="pending"]').first().waitFor()
    await p.getByTestId('wn-delivery-stats').waitFor()
    await p.getByTestId('cap-xml').getByText(/<identifier>120114/).waitFor()
    await p.waitForTimeout(800)
    await p.screenshot({ path: path.join(SCREENSHOT_DIR, 'warning-detail.png'), fullPage: true })
  })

  await step('the town acknowledges the relay and reports it; the board updates live', async () => {
    const p = await pageAs('town')
    await p.goto(`${BASE_URL}/warnings/relays`)
    const row = p.getByTestId('wn-relay-inbox').locator('tbody tr', { hasText: wnHeadline })
    await row.getByTestId('wn-relay-ack').click()
    const dialog = p.getByTestId('wn-report-dialog')
    await dialog.getByTestId('wn-report-channels').locator('.el-checkbox').first().click()
    await dialog.getByTestId('wn-report-people').locator('input').fill('1200')
    await dialog.getByTestId('wn-report-ok').click()
    await dialog.waitFor({ state: 'hidden' })
    await p.screenshot({ path: path.join(SCREENSHOT_DIR, 'warning-relays.png') })
    await p.context().close()
    const chip = leaderPage.getByTestId('wn-relay-board').locator(`[data-testid="wn-relay-chip"][data-state="acknowledged"]`)
    await chip.first().waitFor({ timeout: 15000 })
  })

  await step('the warning list shows it in force with the coverage KPI', async () => {
    await page.goto(`${BASE_URL}/warnings`)
    await page.getByTestId('wn-kpi').waitFor()
    await page.getByTestId('wn-table').getByText(wnHeadline).waitFor()
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'warnings.png') })
  })

  await step('the public page (no login) lists the warning on its map, linked from the login page', async () => {
    const p = await pageAs('')
    await p.goto(`${BASE_URL}/login`)
    await p.getByTestId('login-public').click()
    await p.waitForURL(/\/public/)
    await p.getByTestId('public-warning').filter({ hasText: wnHeadline }).waitFor()
    await p.locator('[data-testid="wn-areas-map"][data-loaded="true"]').waitFor()
    const cap = await p.getByTestId('public-warning').filter({ hasText: wnHeadline }).getByTestId('public-cap').getAttribute('href')
    const res = await p.request.get(new URL(cap, BASE_URL).href)
    assert(res.ok() && (await res.text()).includes(wnHeadline), `the public CAP ${cap} does not answer with the warning`)
    await p.waitForTimeout(800)
    await p.screenshot({ path: path.join(SCREENSHOT_DIR, 'public-warnings.png'), fullPage: true })
    await p.context().close()
  })

  await step('the one map shows the warning layer and toggles it', async () => {
    await page.getByTestId('nav-map').click()
    const m = page.getByTestId('one-map')
    await page.locator('[data-testid="one-map"][data-loaded="true"]').waitFor({ timeout: 60000 })
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="one-map"]')?.getAttribute('data-warning-count')) >= 1)
    await page.getByTestId('legend-warning').first().waitFor()
    await page.getByTestId('map-warnings').click()
    assert((await m.getAttribute('data-warnings-shown')) === 'false', 'the warning layer did not hide')
    await page.getByTestId('map-warnings').click()
    assert((await m.getAttribute('data-warnings-shown')) === 'true', 'the warning layer did not show again')
    await page.waitForTimeout(800)
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'one-map-warnings.png') })
    await dutyPage.context().close()
    await leaderPage.context().close()
  })

  await step('no uncaught page errors', async () => {
    assert(pageErrors.length === 0, `page errors: ${pageErrors.join(' | ')}`)
  })
} catch {
  // The failing step has been reported; fall through to the summary.
} finally {
  await browser.close()
}

console.log(`smoke: ${passed} passed, ${failed} failed`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
