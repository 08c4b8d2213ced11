import { describe, expect, it } from 'vitest'
import { creditCodeCheckChar, creditCodeProblem, isValidCreditCode } from './creditCode'

describe('GB 32100 credit code', () => {
  it('accepts published codes', () => {
    // Tencent (Shenzhen) and Huawei, as printed on their business licences.
    expect(isValidCreditCode('91440300708461136T')).toBe(true)
    expect(isValidCreditCode('914403001922038216')).toBe(true)
  })
  it('accepts lower case input', () => {
    expect(isValidCreditCode('91440300708461136t')).toBe(true)
  })
  it('maps a remainder of zero to check character 0', () => {
    // Σ mod 31 = 0 → 31 − 0 = 31 → 0.
    expect(creditCodeCheckChar('00000000000000000')).toBe('0')
  })
  it('rejects a wrong check character', () => {
    expect(creditCodeProblem('91440300708461136A')).toBe('check')
  })
  it('rejects the wrong length and excluded letters', () => {
    expect(creditCodeProblem('')).toBe('empty')
    expect(creditCodeProblem('9144030070846113')).toBe('length')
    expect(creditCodeProblem('9144030070846113IT')).toBe('charset')
    expect(creditCodeProblem('91440300708461136Z')).toBe('charset')
  })
  it('computes check characters that round-trip', () => {
    const body = '91120222MA05K0XX1'
    const c = creditCodeCheckChar(body)
    expect(c).not.toBeNull()
    expect(isValidCreditCode(body + c)).toBe(true)
  })
})
