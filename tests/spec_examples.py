"""Spec texts that tests share across the unit and integration folders (tests/ is on the import path)."""

#: The mixture spec shape the documentation promises (paths relative to the repository root).
ISSUE_SPEC = """\
seed: 0
total: 2000            # needed only when a source uses `share`
sources:
  - name: chat
    path: ../shared/data/alpaca_en_demo_1k/alpaca_en_demo.json.gz   # or `hf: owner/name` (+ split, subset)
    format: auto       # or alpaca, sharegpt, messages, dolly, oasst, p3, self_instruct, natinst
    count: 300         # exactly one of: count, fraction, share, tokens, epochs
  - name: code
    path: ../shared/data/code_alpaca/code_alpaca_2k.json.gz
    fraction: 0.1
"""
