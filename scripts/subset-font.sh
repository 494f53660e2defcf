#!/usr/bin/env bash
# Rebuild the CJK font the PDF renderer ships with (backend/server/assets/fonts), from Debian's
# fonts-noto-cjk (Noto Serif CJK SC, SIL Open Font License 1.1) with fontTools' pyftsubset.
# The output is committed; this script documents how it was made and remakes it.
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc
if [ ! -f "$src" ]; then
    echo "needs Debian's fonts-noto-cjk: apt-get install fonts-noto-cjk" >&2
    exit 1
fi
venv="${CARGO_TARGET_DIR:-target}/fonttools-venv"
[ -x "$venv/bin/pyftsubset" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q fonttools; }
out=backend/server/assets/fonts
"$venv/bin/python" scripts/subset-font.py > "$venv/charset.txt"
# Face 2 of the collection is the Simplified Chinese one.
"$venv/bin/pyftsubset" "$src" --font-number=2 --text-file="$venv/charset.txt" \
    --output-file="$out/NotoSerifSC-Regular-GB2312.otf" --no-hinting --layout-features='kern,palt,locl'
echo "wrote $out/NotoSerifSC-Regular-GB2312.otf ($(stat -c %s "$out/NotoSerifSC-Regular-GB2312.otf") bytes)"
