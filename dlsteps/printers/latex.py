"""The LaTeX printer: a standalone document, or with ``fragment`` the body alone.

Needs nothing beyond TeX Live's base and recommended sets (amsmath, amssymb, booktabs,
graphicx) and compiles with pdflatex. Wide formulas are scaled down to the line width
(never up); vectors and matrices are broken into blocks of at most 8 columns and 16 rows
so they never run off the page. Prose is escaped and its Unicode symbols written as
LaTeX commands; Korean (the lectures' titles, words such as 피자) is set by kotex, which
a document loads only when it holds Korean; other text pdflatex cannot set is left out.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from typing import Any

import numpy as np

from dlsteps.i18n import _
from dlsteps.model import Caution, Derivation, InputValue, Step
from dlsteps.printers.base import blocks
from dlsteps.printers.document import DocumentPrinter

COLUMNS, ROWS = 8, 16
CODE_WIDTH = 72  # characters of a code line that fit the text width in verbatim

PREAMBLE = r"""\usepackage[utf8]{inputenc}
\usepackage[margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb,booktabs,graphicx}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}"""

_TEXT = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}", "#": r"\#", "%": r"\%",
    "&": r"\&", "$": r"\$", "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    "δ": r"$\delta$", "Δ": r"$\Delta$", "Σ": r"$\Sigma$", "∂": r"$\partial$", "η": r"$\eta$", "λ": r"$\lambda$",
    "κ": r"$\kappa$", "ŷ": r"$\hat{y}$", "ℓ": r"$\ell$", "∞": r"$\infty$", "·": r"$\cdot$", "×": r"$\times$",
    "²": r"$^2$", "≤": r"$\le$", "≥": r"$\ge$", "≠": r"$\ne$", "→": r"$\to$", "‖": r"$\|$", "−": "-", "…": r"\ldots{}",
    "ᴸ": "L", "¹": r"$^1$", "⚠": "", "✓": r"$\checkmark$", "–": "--", "—": "---",
    "σ": r"$\sigma$", "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$", "ε": r"$\varepsilon$", "μ": r"$\mu$",
    "θ": r"$\theta$", "π": r"$\pi$", "τ": r"$\tau$", "ω": r"$\omega$", "∇": r"$\nabla$", "√": r"$\surd$",
    "′": r"$'$", "″": r"$''$", "≈": r"$\approx$", "∈": r"$\in$", "⊙": r"$\odot$", "∑": r"$\sum$", "Π": r"$\Pi$",
    "φ": r"$\varphi$", "½": r"$\frac{1}{2}$", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "⌊": r"$\lfloor$", "⌋": r"$\rfloor$",
    "ᵀ": r"$^T$", "⁻": r"$^-$", "₀": r"$_0$", "₁": r"$_1$", "₂": r"$_2$", "ₜ": r"$_t$", "ᵢ": r"$_i$", "ⱼ": r"$_j$",
}
_PARENTHESIS = re.compile(r"\s*\([^()]*\)")


def hangul(char: str) -> bool:
    """Whether `char` is a Hangul syllable or letter (set by kotex, from texlive-lang-korean)."""
    return "\uac00" <= char <= "\ud7a3" or "\u1100" <= char <= "\u11ff" or "\u3130" <= char <= "\u318f"


def _settable(char: str) -> bool:
    return char in _TEXT or ord(char) < 256 or hangul(char)


def escape(text: str) -> str:
    """Prose as LaTeX text: special characters escaped, symbols as commands, Korean kept
    (the document then loads kotex), the rest pdflatex cannot set (and a parenthesis
    holding it) left out."""
    text = _PARENTHESIS.sub(lambda m: m.group() if all(map(_settable, m.group())) else "", text)
    return _ACCENTED.sub(_accent, text)


_ACCENTS = {"\u0302": "hat", "\u0304": "bar", "\u0303": "tilde", "\u0307": "dot"}
_ACCENTED = re.compile("(.)([\u0302\u0304\u0303\u0307])|.", re.DOTALL)


def _raised(char: str) -> str:
    """A Unicode superscript or subscript letter or digit (ⁱ, ᵀ, ₀) as $^{i}$ or $_{0}$;
    any other character pdflatex cannot set as nothing."""
    base = unicodedata.normalize("NFKC", char)
    if len(base) != 1 or not base.isascii() or not base.isalnum():
        return ""
    name = unicodedata.name(char, "")
    return f"$_{{{base}}}$" if "SUBSCRIPT" in name else f"$^{{{base}}}$"


def _accent(match: re.Match) -> str:
    """One character as LaTeX text; a letter with a combining accent (x̂, μ̄) as $\\hat{x}$."""
    char, accent = match.group(1), match.group(2)
    if accent is None:
        char = match.group()
        return _TEXT.get(char, char if ord(char) < 256 or hangul(char) else _raised(char))
    inner = _TEXT.get(char, char).strip("$")
    return f"$\\{_ACCENTS[accent]}{{{inner}}}$"


def extra_packages(body: str) -> list[str]:
    """Packages beyond PREAMBLE that `body` needs: kotex for Korean, xcolor for shaded cells."""
    return (["kotex"] if any(map(hangul, body)) else []) + (["xcolor"] if "\\cellcolor" in body else [])


def preamble(body: str) -> str:
    """The packages a document needs: kotex only where it holds Korean, xcolor (with
    colortbl) only where it shades a heatmap."""
    options = {"xcolor": "[table]"}
    return PREAMBLE + "".join(f"\n\\usepackage{options.get(name, '')}{{{name}}}" for name in extra_packages(body))


def shade(x: float, scale: float) -> str:
    """A heatmap cell's color: red for positive, blue for negative, gray for ±∞."""
    if not np.isfinite(x):
        return "\\cellcolor{gray!30}"
    level = round(60 * min(1.0, abs(x) / scale)) if scale else 0
    return f"\\cellcolor{{{'red' if x > 0 else 'blue'}!{level}}}" if level else ""


def fit(math: str) -> str:
    """Display math, scaled down to the line width when it is wider."""
    return ("\\begin{center}\n\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}"
            f"{{$\\displaystyle {math}$}}\n\\end{{center}}")


class LatexPrinter(DocumentPrinter):
    """Prints a Derivation as LaTeX; settings: fragment (body only), chapter (booklet)."""

    default_settings = {**DocumentPrinter.default_settings, "fragment": False, "chapter": False}

    def heading(self, level: int, text: str) -> str:
        commands = ("chapter", "section*", "subsection*") if self.settings["chapter"] else ("section*", "subsection*", "subsubsection*")
        return f"\\{commands[level]}{{{escape(text)}}}"

    def paragraph(self, text: str) -> str:
        return escape(text)

    def display(self, math: str) -> str:
        return fit(math)

    def shape(self, value: Any) -> str:
        return super().shape(value).replace("×", r"$\times$")

    def result(self, step: Step) -> str:
        badge = f"\\hfill{{\\small $\\checkmark$ {escape(self.checks(step))}}}" if step.check else ""
        left = self.math(step.left)
        if np.ndim(step.value) == 0:
            return fit(f"{left} = {self.number(step.value)}") + "\n" + badge
        shaded = step.display == "heatmap" and np.ndim(step.value) == 2
        word = _("shape")  # outside the f-string, where Babel finds it
        return "\n".join([*self.blocks(left, step.value, shaded), f"{{\\small {word} {self.shape(step.value)}}} {badge}"])

    def blocks(self, left: str, value: Any, shaded: bool = False) -> list[str]:
        """An array as displays of at most ROWS × COLUMNS entries each, captioned when split;
        a heatmap's cells shaded by value."""
        finite = np.abs(np.asarray(value, dtype=float))
        scale = float(finite[np.isfinite(finite)].max(initial=0.0)) if shaded else None
        parts = list(blocks(value, ROWS, COLUMNS))
        if len(parts) == 1:
            return [fit(f"{left} = {self.matrix(parts[0][2], scale)}")]
        vector = np.ndim(value) == 1
        return [fit(f"{left} = \\underset{{[{span(top, part.shape[0], first, part.shape[1], vector)}]}}{{}}{self.matrix(part, scale)}")
                for top, first, part in parts]

    def matrix(self, value: Any, scale: float | None = None) -> str:
        """A bmatrix; with a `scale`, an array whose cells are shaded (a heatmap)."""
        if scale is None:
            return super().matrix(value)
        rows = np.atleast_2d(np.asarray(value, dtype=float))
        body = r" \\ ".join(" & ".join(shade(x, scale) + self.number(x) for x in row) for row in rows)
        return f"\\left[\\begin{{array}}{{{'c' * rows.shape[1]}}} {body} \\end{{array}}\\right]"

    def inputs(self, inputs: list[InputValue]) -> str:
        rows = "\n".join(
            f"{escape(item.label)} & ${self.math(item.symbol)}$ & {self.shape(item.shown)} & {escape(_(item.origin))} \\\\" for item in inputs
        )
        table = (f"\\begin{{tabular}}{{llll}}\n\\toprule\n{_('input')} & {_('symbol')} & {_('shape')} & {_('from')} \\\\\n"
                 f"\\midrule\n{rows}\n\\bottomrule\n\\end{{tabular}}")
        values = [f"${self.math(item.symbol)}$: {escape(item.shown)}" if isinstance(item.shown, str) else "\n\n".join(self.blocks(self.math(item.symbol), item.value))
                  for item in inputs]
        return "\n\n".join([table, *values])

    def table(self, header: list[str], rows: list[list[str]]) -> str:
        body = "\n".join(" & ".join(row) + r" \\" for row in rows)
        return (f"\\begin{{center}}\\begin{{tabular}}{{{'r' * len(header)}}}\n\\toprule\n"
                + " & ".join(header) + " \\\\\n\\midrule\n" + body + "\n\\bottomrule\n\\end{tabular}\\end{center}")

    def note(self, text: str) -> str:
        label = _("Caution") if isinstance(text, Caution) else _("Note")
        return f"\\emph{{{label}:}} {escape(text)}"

    def code(self, text: str) -> str:
        lines = [part for line in text.splitlines() for part in textwrap.wrap(line, CODE_WIDTH, subsequent_indent="    ", drop_whitespace=False) or [""]]
        return "\\begin{verbatim}\n" + "\n".join(lines) + "\n\\end{verbatim}"

    def document(self, d: Derivation, body: str) -> str:
        if self.settings["fragment"] or self.settings["chapter"]:
            needs = ",".join(["amsmath,amssymb,booktabs,graphicx", *extra_packages(body)])
            return f"% dlsteps {d.lesson}: needs \\usepackage{{{needs}}} (xcolor with the table option)\n{body}"
        return f"\\documentclass[11pt]{{article}}\n{preamble(body)}\n\\begin{{document}}\n{body}\\end{{document}}\n"


def span(top: int, rows: int, first: int, columns: int, vector: bool) -> str:
    """Which entries a block holds, e.g. 8…15 or 0…15, 8…15 (rows, columns)."""
    cols = f"{first}\\ldots {first + columns - 1}"
    return cols if vector else f"{top}\\ldots {top + rows - 1},\\ {cols}"


def booklet(chapters: list[str], title: str) -> str:
    """One report with a table of contents from chapters printed with ``chapter=True``."""
    body = "\n".join(chapters)
    return (f"\\documentclass[11pt]{{report}}\n{preamble(body)}\n\\title{{{escape(title)}}}\n\\date{{}}\n"
            f"\\begin{{document}}\n\\maketitle\n\\tableofcontents\n{body}\\end{{document}}\n")


def render(derivation: Derivation, **settings: Any) -> str:
    """`derivation` as LaTeX text."""
    return LatexPrinter(**settings).doprint(derivation)
