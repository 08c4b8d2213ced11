// A stand-in for the `yingji` API, for working on the UI without the Rust server:
// `node tests/browser/mock-server.mjs [port] [distDir]` serves the built UI from
// distDir (default web/dist) and a small in-memory /api/v1 that follows the API
// contract. Data is generated deterministically from ../shared/data when present.
// Not used by CI; the browser smoke test runs against the real binary.

import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const port = Number(process.argv[2] || 8091)
const dist = path.resolve(process.argv[3] || path.join(here, '../../web/dist'))
const sharedData = ['/work/shared/data', path.join(here, '../../../shared/data')].find((p) => fs.existsSync(p))

// Deterministic pseudo-random numbers.
let seed = 42
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)

function pointInRing([x, y], ring) {
  let inside = false
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j]
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside
  }
  return inside
}

const district = JSON.parse(fs.readFileSync(path.join(sharedData, 'wuqing_boundary.geojson'), 'utf8'))
const outer = district.features[0].geometry.coordinates.map((p) => p[0])
const inDistrict = (pt) => outer.some((r) => pointInRing(pt, r))
let bb = [180, 90, -180, -90]
for (const r of outer) for (const [x, y] of r) bb = [Math.min(bb[0], x), Math.min(bb[1], y), Math.max(bb[2], x), Math.max(bb[3], y)]
const randomPoint = () => {
  for (;;) {
    const p = [bb[0] + rnd() * (bb[2] - bb[0]), bb[1] + rnd() * (bb[3] - bb[1])]
    if (inDistrict(p)) return p
  }
}

const townRows = fs.readFileSync(path.join(sharedData, 'wuqing_towns.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','))
const seats = Object.fromEntries(
  fs.readFileSync(path.join(sharedData, 'wuqing_town_seats.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')).map((c) => [c[0], [+c[2], +c[3]]]),
)
const units = townRows.map((c) => {
  const kind = c[2].startsWith('jiedao') ? 'street' : c[2].startsWith('zhen') ? 'town' : 'park'
  return { code: c[0], name: c[1], kind, parent_code: '120114', seat: seats[c[0]] || randomPoint(), seat_approximate: !seats[c[0]], population: 20000 + Math.round(rnd() * 60000), population_approximate: true, geometry_approximate: true }
})
// Town "areas": Voronoi-like cells on a grid, enough to look at.
const cell = 0.02
const cellsByUnit = new Map(units.map((u) => [u.code, []]))
for (let x = bb[0]; x < bb[2]; x += cell)
  for (let y = bb[1]; y < bb[3]; y += cell) {
    const c = [x + cell / 2, y + cell / 2]
    if (!inDistrict(c)) continue
    let best = units[0], bd = Infinity
    for (const u of units) {
      const d = (u.seat[0] - c[0]) ** 2 + (u.seat[1] - c[1]) ** 2
      if (d < bd) { bd = d; best = u }
    }
    cellsByUnit.get(best.code).push([[[x, y], [x + cell, y], [x + cell, y + cell], [x, y + cell], [x, y]]])
  }
const nearestUnit = (p) => units.reduce((b, u) => ((u.seat[0] - p[0]) ** 2 + (u.seat[1] - p[1]) ** 2 < (b.seat[0] - p[0]) ** 2 + (b.seat[1] - p[1]) ** 2 ? u : b))

const FLAGS = [
  ['hazchem_production', '危化品生产', 'Hazardous chemicals: production'], ['hazchem_storage', '危化品储存', 'Hazardous chemicals: storage'],
  ['hazchem_use', '危化品使用', 'Hazardous chemicals: use'], ['hazchem_trading', '危化品经营', 'Hazardous chemicals: trading'],
  ['combustible_dust', '粉尘涉爆', 'Combustible dust'], ['ammonia_refrigeration', '涉氨制冷', 'Ammonia refrigeration'],
  ['confined_space', '有限空间', 'Confined space'], ['metallurgy', '冶金', 'Metallurgy'], ['warehousing', '仓储物流', 'Warehousing / logistics'], ['gas_station', '加油加气站', 'Gas station'],
].map(([key, zh, en]) => ({ key, zh, en }))
const KINDS = [['school', '学校', 'School'], ['hospital', '医院', 'Hospital'], ['elderly_home', '养老机构', 'Elderly home'], ['market', '商场市场', 'Market']].map(([key, zh, en]) => ({ key, zh, en }))
const INDUSTRIES = [
  { section: 'C', zh: '制造业', en: 'Manufacturing', divisions: [{ code: '26', zh: '化学原料和化学制品制造业' }, { code: '33', zh: '金属制品业' }] },
  { section: 'F', zh: '批发和零售业', en: 'Wholesale and retail', divisions: [{ code: '51', zh: '批发业' }, { code: '52', zh: '零售业' }] },
  { section: 'G', zh: '交通运输、仓储和邮政业', en: 'Transport, storage and post', divisions: [{ code: '59', zh: '装卸搬运和仓储业' }] },
]
const CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
const creditCode = (i) => {
  const body = ('91120222' + String(100000000 + i)).slice(0, 17)
  const s = [...body].reduce((a, ch, k) => a + CHARSET.indexOf(ch) * W[k], 0)
  return body + CHARSET[(31 - (s % 31)) % 31]
}
const now = new Date().toISOString()
const enterprises = []
for (let i = 0; i < 1528; i++) {
  const p = randomPoint(), u = nearestUnit(p), ind = INDUSTRIES[Math.floor(rnd() * 3)]
  const flags = rnd() < 0.45 ? [FLAGS[Math.floor(rnd() * 10)].key] : []
  if (flags.length && rnd() < 0.2) flags.push('confined_space')
  enterprises.push({ id: String(1000 + i), credit_code: creditCode(i), name: `天津市武清区示例企业${i + 1}有限公司`, town_code: u.code, town_name: u.name, address: `${u.name}工业路${i + 1}号`, lon: +p[0].toFixed(6), lat: +p[1].toFixed(6), industry_section: ind.section, industry_division: ind.divisions[0].code, industry_name: ind.divisions[0].zh, scale: rnd() < 0.3 ? 'above' : 'below', staff_count: Math.round(rnd() * 500), legal_rep: '张三', safety_manager: '李四', safety_phone: '13800138000', flags: [...new Set(flags)], created_at: now, updated_at: now })
}
const facilities = []
for (let i = 0; i < 160; i++) {
  const p = randomPoint(), u = nearestUnit(p), k = KINDS[i % 4]
  facilities.push({ id: String(5000 + i), name: `${u.name}${k.zh}${i + 1}`, kind: k.key, town_code: u.code, town_name: u.name, address: `${u.name}某路`, lon: p[0], lat: p[1], people: 100 + Math.round(rnd() * 2000), created_at: now, updated_at: now })
}
const ROLES = [['admin', '系统管理员', 'Administrator'], ['duty', '值班员', 'Duty officer'], ['supervisor', '安全监管', 'Supervisor'], ['leader', '领导', 'Leader'], ['town', '镇街', 'Town staff'], ['enterprise', '企业', 'Enterprise']].map(([key, zh, en]) => ({ key, zh, en }))
const users = ROLES.map((r, i) => ({ id: String(i + 1), username: r.key, display_name: r.zh + '（演示）', role: r.key, town_code: r.key === 'town' ? units[0].code : null, enterprise_id: r.key === 'enterprise' ? '1000' : null, scope_name: r.key === 'town' ? units[0].name : r.key === 'enterprise' ? enterprises[0].name : null, disabled: false, created_at: now }))
const audit = []
const sessions = new Map()
const PASSWORD = process.env.PASSWORD || 'demo-password'

const primaryFlag = (e) => FLAGS.find((f) => e.flags.includes(f.key))?.key ?? null
const json = (res, status, body, extra = {}) => { res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...extra }); res.end(body === undefined ? '' : JSON.stringify(body)) }
const err = (res, status, code, message, field) => json(res, status, { error: { code, message, ...(field ? { field } : {}) } })
const page = (items, q) => ({ items: items.slice(+(q.get('offset') || 0), +(q.get('offset') || 0) + +(q.get('limit') || 20)), total: items.length })
const readBody = (req) => new Promise((r) => { const c = []; req.on('data', (d) => c.push(d)); req.on('end', () => r(Buffer.concat(c).toString('utf8'))) })
const counts = (u) => ({ enterprise_count: enterprises.filter((e) => e.town_code === u.code).length, hazchem_count: enterprises.filter((e) => e.town_code === u.code && e.flags.some((f) => f.startsWith('hazchem'))).length, facility_count: facilities.filter((f) => f.town_code === u.code).length })
const filterEnt = (q) => enterprises.filter((e) => (!q.get('town') || e.town_code === q.get('town')) && (!q.get('flag') || e.flags.includes(q.get('flag'))) && (!q.get('industry') || e.industry_section === q.get('industry')) && (!q.get('scale') || e.scale === q.get('scale')) && (!q.get('q') || e.name.includes(q.get('q')) || e.credit_code.includes(q.get('q'))))
const filterFac = (q) => facilities.filter((f) => (!q.get('town') || f.town_code === q.get('town')) && (!q.get('kind') || f.kind === q.get('kind')) && (!q.get('q') || f.name.includes(q.get('q'))))

function validateEnterprise(b) {
  if (!b.name) return ['name', '企业名称不能为空']
  if (!b.credit_code || b.credit_code.length !== 18) return ['credit_code', '统一社会信用代码应为 18 位']
  if (!units.some((u) => u.code === b.town_code)) return ['town_code', '未知的镇街代码']
  return null
}

async function api(req, res, url) {
  const p = url.pathname.slice('/api/v1'.length), q = url.searchParams, m = req.method
  if (p === '/auth/login' && m === 'POST') {
    const b = JSON.parse((await readBody(req)) || '{}')
    const u = users.find((x) => x.username === b.username)
    if (!u || b.password !== PASSWORD) return err(res, 401, 'invalid_credentials', '用户名或密码错误')
    const token = Math.random().toString(36).slice(2)
    sessions.set(token, u)
    audit.unshift({ id: String(audit.length + 1), ts: new Date().toISOString(), user_id: u.id, username: u.username, entity: 'session', entity_id: null, action: 'login', before: null, after: null })
    return json(res, 200, { token, user: u }, { 'set-cookie': `yingji_session=${token}; HttpOnly; Path=/; SameSite=Lax` })
  }
  const token = /yingji_session=([^;]+)/.exec(req.headers.cookie || '')?.[1]
  const me = token && sessions.get(token)
  if (!me) return err(res, 401, 'unauthorized', '请先登录')
  if (p === '/auth/logout') { sessions.delete(token); res.writeHead(204, { 'set-cookie': 'yingji_session=; Max-Age=0; Path=/' }); return res.end() }
  if (p === '/me') return json(res, 200, me)
  if (p === '/meta') return json(res, 200, { district: { code: '120114', name: '武清区' }, roles: ROLES, flags: FLAGS, facility_kinds: KINDS, industries: INDUSTRIES, scales: [{ key: 'above', zh: '规模以上', en: 'Above designated size' }, { key: 'below', zh: '规模以下', en: 'Below designated size' }], map: { style_url: null }, capabilities: { can_edit_registry: ['admin', 'supervisor'].includes(me.role), can_manage_users: me.role === 'admin', can_read_audit: me.role === 'admin' } })
  if (p === '/admin-units' && m === 'GET') return json(res, 200, { items: units.map((u) => ({ ...u, area_km2: +(cellsByUnit.get(u.code).length * 3.6).toFixed(1), ...counts(u) })), total: units.length })
  if (p === '/admin-units/boundaries' && m === 'PUT') { const b = JSON.parse(await readBody(req)); return json(res, 200, { updated: b.features.length }) }
  if (p === '/map/district') return json(res, 200, district)
  if (p === '/map/admin-units') return json(res, 200, { type: 'FeatureCollection', features: units.map((u) => ({ type: 'Feature', properties: { code: u.code, name: u.name, kind: u.kind, population: u.population, population_approximate: true, geometry_approximate: true, ...counts(u) }, geometry: { type: 'MultiPolygon', coordinates: cellsByUnit.get(u.code) } })) })
  if (p === '/map/enterprises') return json(res, 200, { type: 'FeatureCollection', features: filterEnt(q).map((e) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [e.lon, e.lat] }, properties: { id: e.id, name: e.name, town_code: e.town_code, town_name: e.town_name, industry_name: e.industry_name, scale: e.scale, flags: e.flags.join(','), primary_flag: primaryFlag(e) } })) })
  if (p === '/map/facilities') return json(res, 200, { type: 'FeatureCollection', features: filterFac(q).map((f) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [f.lon, f.lat] }, properties: { id: f.id, name: f.name, kind: f.kind, town_code: f.town_code, town_name: f.town_name, people: f.people } })) })
  for (const [base, list, filter] of [['/enterprises', enterprises, filterEnt], ['/facilities', facilities, filterFac]]) {
    if (p === base && m === 'GET') return json(res, 200, page(filter(q), q))
    if (p === `${base}/export`) { res.writeHead(200, { 'content-type': 'text/csv', 'content-disposition': `attachment; filename="export.${q.get('format')}"` }); return res.end('id,name\n') }
    if (p === `${base}/import` && m === 'POST') {
      await readBody(req)
      const rejected = [{ line: 3, field: 'credit_code', message: '校验位错误' }, { line: 7, field: 'town_code', message: '未知的镇街' }]
      if (q.get('skip_invalid') === 'true') return json(res, 200, { written: 8, total_rows: 10, rejected })
      return json(res, 422, { error: { code: 'invalid_rows', message: '2 行无效，未写入' }, written: 0, total_rows: 10, rejected })
    }
    if (p === base && m === 'POST') {
      const b = JSON.parse(await readBody(req)); const v = base === '/enterprises' && validateEnterprise(b)
      if (v) return err(res, 422, 'invalid', v[1], v[0])
      const u = units.find((x) => x.code === b.town_code)
      const rec = { ...b, id: String(9000 + list.length), town_name: u?.name, industry_name: '', created_at: now, updated_at: now }
      list.unshift(rec)
      return json(res, 201, rec)
    }
    const mm = new RegExp(`^${base}/([^/]+)$`).exec(p)
    if (mm) {
      const i = list.findIndex((x) => x.id === mm[1])
      if (i < 0) return err(res, 404, 'not_found', '记录不存在')
      if (m === 'GET') return json(res, 200, list[i])
      if (m === 'DELETE') { list.splice(i, 1); res.writeHead(204); return res.end() }
      if (m === 'PUT') {
        const b = JSON.parse(await readBody(req)); const v = base === '/enterprises' && validateEnterprise(b)
        if (v) return err(res, 422, 'invalid', v[1], v[0])
        list[i] = { ...list[i], ...b, updated_at: new Date().toISOString() }
        return json(res, 200, list[i])
      }
    }
  }
  if (p === '/users' && m === 'GET') return json(res, 200, page(users, q))
  if (p === '/users' && m === 'POST') { const b = JSON.parse(await readBody(req)); if (users.some((u) => u.username === b.username)) return err(res, 409, 'conflict', '用户名已存在', 'username'); const u = { ...b, id: String(users.length + 1), disabled: false, created_at: now, scope_name: null }; delete u.password; users.push(u); return json(res, 201, u) }
  const um = /^\/users\/([^/]+)$/.exec(p)
  if (um && m === 'PATCH') { const u = users.find((x) => x.id === um[1]); const b = JSON.parse(await readBody(req)); delete b.password; Object.assign(u, b); return json(res, 200, u) }
  if (p === '/audit') return json(res, 200, page(audit.filter((a) => (!q.get('action') || a.action === q.get('action')) && (!q.get('entity') || a.entity === q.get('entity'))), q))
  return err(res, 404, 'not_found', 'no such endpoint')
}

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.html': 'text/html; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2' }
http
  .createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x')
    try {
      if (url.pathname.startsWith('/api/v1/')) return await api(req, res, url)
      if (url.pathname === '/healthz') return json(res, 200, { status: 'ok' })
      let file = path.join(dist, path.normalize(url.pathname))
      if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(dist, 'index.html')
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' })
      fs.createReadStream(file).pipe(res)
    } catch (e) {
      err(res, 500, 'internal', String(e))
    }
  })
  .listen(port, '127.0.0.1', () => console.log(`mock yingji on http://127.0.0.1:${port} (password ${PASSWORD})`))
