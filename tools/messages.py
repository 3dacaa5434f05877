"""The Korean catalogue, kept with Babel: extract the template, update ko.po, compile ko.mo.

    python tools/messages.py            # after changing any English text: all three steps
    python tools/messages.py --check    # exit 1 if the template or the .mo is stale

Extraction sees `_()`, `N_()` and the expression parser's `fail()` in ``dlsteps/`` and
``lessons/``, and in each lesson also its META literal: the title, the summary and every
input's help (read with `ast`, as the catalogue reads them). Locations are written without
line numbers, so moving code does not change the template.
"""

from __future__ import annotations

import ast
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "dlsteps" / "locale"
TEMPLATE = LOCALE / "dlsteps.pot"
LANGUAGES = ("ko",)
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "fail": None}
META_TEXTS = ("title", "summary")


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "dlsteps.po"


def mo_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "dlsteps.mo"


def extract_lesson(fileobj, keywords, comment_tags, options):
    """Babel extractor for a lesson: its `_()` calls, then its META prose."""
    yield from extract_python(fileobj, keywords, comment_tags, options)
    fileobj.seek(0)
    tree = ast.parse(fileobj.read().decode("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "META" for t in node.targets):
            meta = ast.literal_eval(node.value)
            for key in META_TEXTS:
                yield node.lineno, "_", meta[key], ["META " + key]
            for name, spec in meta["inputs"].items():
                yield node.lineno, "_", spec["help"], [f"META input {name}"]


def template() -> Catalog:
    """Every message of dlsteps/ and lessons/, with the files that use it."""
    catalog = Catalog(project="dlsteps", version="0.1", fuzzy=False)
    for folder, method in (("dlsteps", "python"), ("lessons", extract_lesson)):
        found = extract_from_dir(ROOT / folder, [("**.py", method)], keywords=KEYWORDS, comment_tags=("Translators:",))
        for filename, _lineno, message, comments, context in found:
            catalog.add(message, None, [(f"{folder}/{filename}", None)], auto_comments=comments, context=context)
    return catalog


def as_bytes(catalog: Catalog, **options) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=120, sort_output=True, include_lineno=False, omit_header=False, **options)
    return out.getvalue()


def compiled(lang: str) -> bytes:
    """The .mo of `lang`'s .po: every translated message, fuzzy ones left out."""
    with po_path(lang).open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def ids(catalog: Catalog) -> set[str]:
    return {message.id for message in catalog if message.id}


def update() -> None:
    """Write the template, merge it into every .po (new messages empty), compile every .mo."""
    fresh = template()
    TEMPLATE.write_bytes(as_bytes(fresh))
    for lang in LANGUAGES:
        path = po_path(lang)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=lang)
        else:
            catalog = Catalog(locale=lang, project="dlsteps", version="0.1")
        catalog.update(fresh, no_fuzzy_matching=True)
        catalog.fuzzy = False  # the header: a fuzzy header would leave the charset out of the .mo
        catalog.last_translator = catalog.language_team = "dlsteps <https://github.com/dlsteps>"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(as_bytes(catalog, ignore_obsolete=True))
        mo_path(lang).write_bytes(compiled(lang))


def stale() -> list[str]:
    """What is out of date: the template against the code, each .mo against its .po."""
    problems = []
    with TEMPLATE.open("rb") as handle:
        if ids(read_po(handle)) != ids(template()):
            problems.append(f"{TEMPLATE.relative_to(ROOT)} does not match the code")
    for lang in LANGUAGES:
        if not mo_path(lang).exists() or mo_path(lang).read_bytes() != compiled(lang):
            problems.append(f"{mo_path(lang).relative_to(ROOT)} is not compiled from {po_path(lang).name}")
    return problems


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        problems = stale()
        print("\n".join(problems) or "up to date; run without --check to update")
        sys.exit(1 if problems else 0)
    update()
    print(f"wrote {TEMPLATE.relative_to(ROOT)} and, for {', '.join(LANGUAGES)}, the .po and .mo")
