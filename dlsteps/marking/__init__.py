"""Marking a hand calculation: `dlsteps check LESSON [inputs] --answers FILE`.

`answers` reads the learner's values by step id (TOML, JSON, or a filled-in Markdown
worksheet); `mark` judges each answered step right, wrong, or right given the learner's
own earlier values (error carried forward) and finds the first wrong step; `report`
shows the marks as a table or JSON; `commands` registers the command on the app.
"""
