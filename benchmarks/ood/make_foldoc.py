#!/usr/bin/env python3
"""Build a plain-text article collection from Debian's FOLDOC (dict-foldoc).

Usage: python3 make_foldoc.py [OUTDIR] [--dict FILE.dict.dz] [--index FILE.index] [-n 3000]

Selection (deterministic): every distinct entry (index lines pointing at the
same offset/length are one entry), excluding 00-database-* entries and entries
whose cleaned body is shorter than 300 characters; the N longest cleaned bodies
are kept (ties broken by title, then offset).  Standard library only.
"""
import argparse
import gzip
import os
import re
import sys

B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
B64V = {c: i for i, c in enumerate(B64)}
DATE_RE = re.compile(r'^\(\d{4}-\d{2}-\d{2}\)$')
XREF_PROSE = re.compile(r'\{([^{}]*)\}')
TAG_RE = re.compile(r'^((?:<[A-Za-z][A-Za-z0-9 ,/&.-]{0,58}>\s*)*)(\d+\.\s+)?'
                    r'((?:<[A-Za-z][A-Za-z0-9 ,/&.-]{0,58}>\s*)*)')


def b64(s):
    n = 0
    for c in s:
        n = n * 64 + B64V[c]
    return n


def read_index(path):
    out = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            parts = line.rstrip('\n').split('\t')
            if len(parts) < 3:
                continue
            out.append((parts[0], b64(parts[1]), b64(parts[2])))
    return out


def xref_text(inner):
    inner = ' '.join(inner.split())
    m = re.match(r'^(.*?)\s*\(([^()\s]+)\)$', inner)
    if m:                      # {label (url)}
        label, url = m.group(1), m.group(2)
        if '://' not in url:   # relative foldoc.org link: keep label only
            return label
        return f'{label} ({url})' if label else url
    return inner


def convert_xrefs(text):
    """Replace {cross reference} groups by their plain words.  Brace groups
    that look like program code (contain ';' or '=' or a blank line) are kept."""
    def rep(m):
        inner = m.group(1)
        if re.match(r'^[^()]*\(\s*[a-z]+://[^()\s]+\)\s*$', inner, re.S):
            return xref_text(inner)     # {label (url)}, url may contain ;=
        if ';' in inner or '=' in inner or re.search(r'\n\s*\n\s*\S', inner) \
                or not inner.strip():
            return m.group(0)
        return xref_text(inner)
    prev = None
    while prev != text:                 # innermost first, then enclosing
        prev = text
        text = XREF_PROSE.sub(rep, text)
    return text


def clean_body(raw):
    lines = raw.replace('\r', '').split('\n')
    # header block: unindented headword (+ alias) lines before first blank line
    i = 0
    head = []
    while i < len(lines) and lines[i].strip() and not lines[i][:1].isspace():
        head.append(lines[i].strip())
        i += 1
    body = lines[i:]
    # whitespace-only lines followed by an unindented line are wrapping
    # artefacts of long URLs in the source: drop them
    body = [ln for k, ln in enumerate(body)
            if not (ln and not ln.strip() and k + 1 < len(body)
                    and body[k + 1][:1] not in ('', ' ', '\t'))]
    body = [ln.rstrip() for ln in body]
    while body and not body[-1]:
        body.pop()
    if body and DATE_RE.match(body[-1].strip()):
        body.pop()                      # lone trailing date stamp
        while body and not body[-1]:
            body.pop()
    text = convert_xrefs('\n'.join(body))
    lines = text.split('\n')
    ind = [len(ln) - len(ln.lstrip(' ')) for ln in lines if ln.strip()]
    # base indent of prose: the smallest non-zero indent (FOLDOC uses 3);
    # unindented body lines are wrapping artefacts and count as prose
    base = min([k for k in ind if k > 0] or [0])
    paras, cur = [], []
    for ln in lines + ['']:
        if ln.strip():
            cur.append(ln)
        elif cur:
            paras.append(cur)
            cur = []
    out = []
    for p in paras:
        prose, pieces = [], []

        def flush():
            if prose:
                txt = ' '.join(s.strip() for s in prose)
                txt = re.sub(r'[ \t]+', ' ', txt).strip()
                txt = TAG_RE.sub(lambda m: m.group(2) or '', txt, count=1).strip()
                # stray opening brace of a broken cross reference in the source
                if '{' in txt and '}' not in txt:
                    txt = re.sub(r'\{(?=[A-Za-z"(])', '', txt)
                if txt:
                    pieces.append(txt)
                prose.clear()
        for ln in p:
            # lines indented deeper than the body's base indent are
            # preformatted (code, tables, lists): kept as separate lines
            if len(ln) - len(ln.lstrip(' ')) >= base + 1:
                flush()
                pieces.append(ln[base:].replace('\t', '    '))
            else:
                prose.append(ln)
        flush()
        if pieces:
            out.append('\n'.join(pieces))
    return head, '\n\n'.join(out)


SYMBOLS = {'+': ' plus ', '#': ' sharp ', '*': ' star ', '&': ' and ', '@': ' at '}


def slugify(s):
    s = s.lower()
    s = ''.join(SYMBOLS.get(c, c) for c in s)
    s = re.sub(r'[^a-z0-9]+', '-', s).strip('-')
    return s[:80].strip('-') or 'entry'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('outdir', nargs='?', default='/work/ood/foldoc-corpus/')
    ap.add_argument('--dict', default='/usr/share/dictd/foldoc.dict.dz')
    ap.add_argument('--index', default='/usr/share/dictd/foldoc.index')
    ap.add_argument('-n', type=int, default=3000)
    ap.add_argument('--min-chars', type=int, default=300)
    a = ap.parse_args()

    data = gzip.open(a.dict).read()
    seen = {}
    for hw, off, ln in read_index(a.index):
        seen.setdefault((off, ln), []).append(hw)
    entries = []
    for (off, ln), hws in seen.items():
        if any(h.startswith('00-database') or h.startswith('00database') for h in hws):
            continue
        raw = data[off:off + ln].decode('utf-8', errors='replace')
        head, body = clean_body(raw)
        title = head[0] if head else hws[0]
        if title.lower().startswith('00-database'):
            continue
        if len(body) < a.min_chars:
            continue
        entries.append((len(body), title, off, body))
    entries.sort(key=lambda e: (-e[0], e[1], e[2]))
    chosen = entries[:a.n]
    chosen.sort(key=lambda e: (e[1].lower(), e[2]))
    os.makedirs(a.outdir, exist_ok=True)
    slugs = [slugify(e[1]) for e in chosen]
    used = set(slugs)                   # suffixes never clash with real slugs
    seen_slug = set()
    total = 0
    for slug, (_, title, off, body) in zip(slugs, chosen):
        name, k = slug, 2
        if slug in seen_slug:
            while name in used:
                name = f'{slug}-{k}'
                k += 1
            used.add(name)
        seen_slug.add(slug)
        text = f'{title}\n\n{body}\n'
        with open(os.path.join(a.outdir, name + '.txt'), 'w', encoding='utf-8') as f:
            f.write(text)
        total += len(text.encode('utf-8'))
    print(f'{len(chosen)} files, {total} bytes -> {a.outdir}', file=sys.stderr)


if __name__ == '__main__':
    main()
