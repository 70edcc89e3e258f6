"""Review and correction of a processed transcript.

A person's corrections are data, never overwrites: every edit is appended to a journal beside
the outputs (:mod:`.journal`), the machine document ``<stem>.json`` is never modified, and
:mod:`.apply` replays the journal onto it to produce the corrected version (written to the
``corrected/`` folder beside the outputs). :mod:`.server` is the local review server that serves
the review page with editing turned on.

Words are named by stable ids, so that an edit still names the same word after earlier edits
inserted or deleted others: ``w<i>`` is word ``i`` of the machine document; ``n<seq>.<k>`` is
the ``k``-th word inserted by edit number ``seq`` of the journal.
"""
