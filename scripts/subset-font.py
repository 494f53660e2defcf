"""The character set of the PDF font shipped with Tongban (see scripts/subset-font.sh).

GB 2312's 6,763 hanzi and its symbols, printable ASCII, Latin-1, general and CJK punctuation,
kana, enclosed numbers, box drawing and full-width forms. Characters outside it (生僻字 in names)
are drawn from the configured fallback font (`pdf.fallback_font`)."""

RANGES = [
    (0x20, 0x7F), (0xA0, 0x180), (0x2000, 0x2070), (0x2100, 0x2200), (0x2460, 0x2500),
    (0x2500, 0x2580), (0x25A0, 0x2700), (0x3000, 0x3100), (0x3200, 0x3300), (0xFF00, 0xFFF0),
]


def charset():
    chars = {chr(c) for lo, hi in RANGES for c in range(lo, hi)}
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(sorted(chars))


if __name__ == "__main__":
    print(charset())
