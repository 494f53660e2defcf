/**
 * A random password with lower and upper case letters, digits and symbols (every class the
 * policy counts), from the browser's cryptographic generator; ambiguous characters left out so
 * that it can be read out over the phone.
 */
export function generatePassword(length = 14): string {
  const sets = ['abcdefghijkmnpqrstuvwxyz', 'ABCDEFGHJKLMNPQRSTUVWXYZ', '23456789', '!@#$%^&*-_=+?']
  const all = sets.join('')
  const rnd = new Uint32Array(length + sets.length)
  globalThis.crypto.getRandomValues(rnd)
  const chars = sets.map((s, i) => s[rnd[i]! % s.length]!)
  for (let i = sets.length; i < length; i++) chars.push(all[rnd[i]! % all.length]!)
  // Shuffle so that the classes are not always first (Fisher–Yates).
  const order = new Uint32Array(chars.length)
  globalThis.crypto.getRandomValues(order)
  for (let i = chars.length - 1; i > 0; i--) {
    const j = order[i]! % (i + 1)
    ;[chars[i], chars[j]] = [chars[j]!, chars[i]!]
  }
  return chars.join('')
}
