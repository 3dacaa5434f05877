"""Building blocks: the math that many lessons share, written once, one module per topic.

A block function adds the standard steps for one piece of math to the current section
of a Derivation and returns handles (the steps themselves: id, symbol, value, var) that
the lesson passes to the next block. Every block takes

- `at`, a prefix for its step ids, so one derivation can use a block twice;
- `names`, the caller's symbol names for the quantities it introduces (a plain name,
  or a (plain, Unicode, LaTeX) triple), so two uses never bind the same symbol;

and writes formulas in index form, the same for any size. Each step carries a concept
``block.role`` (``softmax_ce.exp``), so the quiz can track a skill across lessons.
Blocks import the model, SymPy and NumPy, never lessons, printers or the CLI.
"""
