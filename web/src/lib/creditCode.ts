// Unified social credit code (统一社会信用代码), GB 32100-2015: 18 characters from a
// 31-character alphabet (no I, O, Z, S, V); the last is a check character.

export const CREDIT_CODE_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

/** The check character for the first 17 characters, or null if they are not valid. */
export function creditCodeCheckChar(first17: string): string | null {
  if (first17.length !== 17) return null
  let sum = 0
  for (let i = 0; i < 17; i++) {
    const v = CREDIT_CODE_CHARSET.indexOf(first17[i])
    if (v < 0) return null
    sum += v * WEIGHTS[i]
  }
  const check = (31 - (sum % 31)) % 31
  return CREDIT_CODE_CHARSET[check]
}

export type CreditCodeProblem = 'empty' | 'length' | 'charset' | 'check'

/** Why a credit code is invalid, or null when it is valid. Lower case is accepted. */
export function creditCodeProblem(raw: string): CreditCodeProblem | null {
  const code = raw.trim().toUpperCase()
  if (code === '') return 'empty'
  if (code.length !== 18) return 'length'
  for (const ch of code) if (!CREDIT_CODE_CHARSET.includes(ch)) return 'charset'
  return creditCodeCheckChar(code.slice(0, 17)) === code[17] ? null : 'check'
}

export function isValidCreditCode(raw: string): boolean {
  return creditCodeProblem(raw) === null
}
