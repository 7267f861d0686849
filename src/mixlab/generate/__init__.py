"""Instruction data made by a teacher model: Self-Instruct and Evol-Instruct.

``mixlab data generate {self-instruct,evol-instruct}`` prompts any ``LM`` backend (a local folder, a GGUF, an
OpenAI-compatible server) to write new instructions and their responses, filters them by the papers' rules
(every drop counted by reason), and writes mixlab's own JSON-lines rows with full provenance, resumably.

- ``novelty.py``: ROUGE-L (the Self-Instruct novelty filter), exact and with a pruned nearest-neighbour search.
- ``filters.py``: the Self-Instruct heuristics and the Evol-Instruct elimination rules.
- ``prompts.py``: the teacher prompts and the parsers of their answers.
- ``teacher.py``: the teacher (an ``LM``) and its generation settings, recorded without secrets.
- ``journal.py``: the resumable output (rows, dropped candidates, ``manifest.json``), committed step by step.
- ``self_instruct.py``, ``evol_instruct.py``: the two methods; ``cli.py``: the command.

This layer sits above ``eval`` (it uses the LM backends) and beside ``world``; see docs/generate.md.
"""
