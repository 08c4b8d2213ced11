import { describe, expect, it } from 'vitest'
import {
  checkCreditCode,
  checkLat,
  checkLon,
  checkLonLatPair,
  checkNonNegativeInt,
  checkPassword,
  checkPhone,
  checkRequired,
  checkUsername,
  parseOptionalNumber,
  rule,
} from './validation'

describe('form validation', () => {
  it('checks the credit code with the GB 32100 check character', () => {
    expect(checkCreditCode('91440300708461136T')).toBeNull()
    expect(checkCreditCode('91440300708461136A')).toEqual({ key: 'creditCode.check' })
    expect(checkCreditCode('123')).toEqual({ key: 'creditCode.length' })
    expect(checkCreditCode('')).toEqual({ key: 'creditCode.empty' })
  })
  it('accepts coordinates in Tianjin and an empty pair', () => {
    expect(checkLon('117.05')).toBeNull()
    expect(checkLat(39.4)).toBeNull()
    expect(checkLon('')).toBeNull()
    expect(checkLon('39.4')).toEqual({ key: 'lon' })
    expect(checkLat('117.05')).toEqual({ key: 'lat' })
    expect(checkLon('east')).toEqual({ key: 'lon' })
    expect(checkLonLatPair('117', '')).toEqual({ key: 'lonLatPair' })
    expect(checkLonLatPair('', null)).toBeNull()
    expect(checkLonLatPair('117', '39')).toBeNull()
  })
  it('parses optional numbers from text boxes', () => {
    expect(parseOptionalNumber('')).toBeNull()
    expect(parseOptionalNumber(' 12 ')).toBe(12)
    expect(parseOptionalNumber('1e3')).toBeNaN()
  })
  it('checks staff counts, phones, usernames and passwords', () => {
    expect(checkNonNegativeInt('12')).toBeNull()
    expect(checkNonNegativeInt('-1')).toEqual({ key: 'nonNegative' })
    expect(checkNonNegativeInt('1.5')).toEqual({ key: 'nonNegative' })
    expect(checkPhone('13800138000')).toBeNull()
    expect(checkPhone('022-2934 1234')).toBeNull()
    expect(checkPhone('+86 138 0013 8000')).toBeNull()
    expect(checkPhone('call me')).toEqual({ key: 'phone' })
    expect(checkPhone('')).toBeNull()
    expect(checkUsername('duty_01')).toBeNull()
    expect(checkUsername('ab')).toEqual({ key: 'username' })
    expect(checkPassword('12345678')).toBeNull()
    expect(checkPassword('1234')).toEqual({ key: 'password' })
    expect(checkRequired('  ')).toEqual({ key: 'required' })
    expect(checkRequired([])).toEqual({ key: 'required' })
    expect(checkRequired('x')).toBeNull()
  })
  it('wraps a check as an Element Plus rule with a translated message', () => {
    const r = rule(checkPhone, (k) => `t:${k}`)
    let got: Error | undefined
    r.validator(null, 'nope', (e) => (got = e))
    expect(got?.message).toBe('t:validation.phone')
    r.validator(null, '13800138000', (e) => (got = e))
    expect(got).toBeUndefined()
  })
})
