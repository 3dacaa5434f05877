"""The self-quiz: grading answers, the progress store, spaced repetition, the commands."""
