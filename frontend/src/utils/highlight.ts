/**
 * The search highlight (`<b>…</b>` around matched words, everything else escaped) as text parts,
 * so it can be shown without v-html: nothing from the server is ever parsed as markup.
 */
export function highlightParts(html: string): { text: string; hit: boolean }[] {
  const unescape = (s: string) =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;|&#x27;/g, "'")
      .replace(/&amp;/g, '&')
  const parts: { text: string; hit: boolean }[] = []
  const re = /<b>(.*?)<\/b>/g
  let last = 0
  for (let m = re.exec(html); m; m = re.exec(html)) {
    if (m.index > last) parts.push({ text: unescape(html.slice(last, m.index)), hit: false })
    parts.push({ text: unescape(m[1] ?? ''), hit: true })
    last = m.index + m[0].length
  }
  if (last < html.length) parts.push({ text: unescape(html.slice(last)), hit: false })
  return parts.filter((p) => p.text !== '')
}
