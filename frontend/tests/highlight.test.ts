import { describe, expect, it } from 'vitest'

import { highlightParts } from '@/utils/highlight'

describe('search highlights', () => {
  it('turns <b> marks into parts and never markup', () => {
    expect(highlightParts('开具<b>在读证明</b>，&lt;script&gt;alert(1)&lt;/script&gt; &amp; 更多')).toEqual([
      { text: '开具', hit: false },
      { text: '在读证明', hit: true },
      { text: '，<script>alert(1)</script> & 更多', hit: false },
    ])
  })

  it('keeps an unmarked text whole and drops empty parts', () => {
    expect(highlightParts('学生请假')).toEqual([{ text: '学生请假', hit: false }])
    expect(highlightParts('<b>证明</b>')).toEqual([{ text: '证明', hit: true }])
  })
})
