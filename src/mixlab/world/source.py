"""The world's instruction data as ordinary sources: ``world: chat`` in a mixture spec.

A source is one instruction type (``nlp``, ``code``, ``chat``; also the aliases ``P``, ``C``, ``A`` of the
instruction-mixture paper; the extended types ``math``, ``logic``, ...) or a single ability (``bullets``,
``arith``). Rows are drawn from the train split only, in equal parts per ability of the type, without
duplicate (prompt, answer) pairs. A variant after a colon changes how the rows are written, not what they
ask: ``arith:direct`` answers without the written steps (chain-of-thought data as a mixture component);
``nlp:name`` and ``nlp:none`` replace an nlp task's instruction template by the task's name or by nothing
(the FLAN template ablation); ``bullets:taught`` has the world's instructions answered by a teacher, a world
model fine-tuned on curated rows (generated data with its teacher's real errors; ``mixlab.world.taught``).
Abilities joined by ``+`` make one source of several (``sentiment+extraction``,
in equal parts), so a study can hold a task of a type out of training.

>>> src = load_world_source("code", size=40)
>>> src.format, len(src.examples), src.examples[0].instruction_type
('world', 40, 'code')
"""

from __future__ import annotations

import random
from typing import Any

from mixlab.data.example import Example
from mixlab.data.load import LoadedSource
from mixlab.errors import MixlabError
from mixlab.world.abilities_extended import ALL as ABILITIES
from mixlab.world.abilities_extended import ALL_TYPES as TYPES

#: the instruction-mixture paper's letters: A = Alpaca (chat), C = CodeAlpaca (code), P = P3 (nlp)
ALIASES = {"A": "chat", "C": "code", "P": "nlp"}
LETTERS = {v: k for k, v in ALIASES.items()}
DEFAULT_POOL = 3000


#: how a variant writes a row: (ability, item) -> (prompt, answer); ``taught``: answered by a teacher model
VARIANTS = ("direct", "name", "none", "taught")
#: the task names of the nlp abilities, the "dataset name" template of the FLAN ablation
TASK_NAMES = {"sentiment": "sentiment", "extraction": "animal extraction", "topic": "topic classification"}


def split_variant(name: str) -> tuple[str, str | None]:
    """``"arith:direct"`` -> ``("arith", "direct")``; an unknown variant is an error naming the valid ones."""
    kind, _, variant = name.partition(":")
    if variant and variant not in VARIANTS:
        raise MixlabError(f"unknown world source variant '{variant}' in '{name}'; variants: {', '.join(VARIANTS)}")
    return kind, variant or None


def _written(ability: Any, item: Any, variant: str | None) -> tuple[str, str]:
    """The row of ``item`` as ``variant`` writes it."""
    if variant is None:
        return item.prompt, item.answer
    if variant == "direct":
        if "direct" not in item.check:
            raise MixlabError(f"world ability {ability.name} has no direct answers (only arith has written steps)")
        return item.prompt, item.check["direct"]
    if "input" not in item.check:
        raise MixlabError(f"world ability {ability.name} has no template to replace (the nlp abilities have)")
    text = item.check["input"]
    return (text if variant == "none" else f"{TASK_NAMES[ability.name]}\n{text}"), item.answer


def world_type(name: str) -> str:
    """The instruction type of a world source: ``world_type("A") == world_type("chat") == "chat"``."""
    kind = ALIASES.get(split_variant(name)[0], split_variant(name)[0])
    if "+" in kind:
        kinds = {world_type(part) for part in kind.split("+")}
        if len(kinds) != 1:
            raise MixlabError(f"world source '{name}' joins abilities of different types ({', '.join(sorted(kinds))})")
        return kinds.pop()
    if kind in TYPES:
        return kind
    if kind in ABILITIES:
        return ABILITIES[kind].instruction_type
    raise MixlabError(f"unknown world source '{name}'; known: {', '.join(sorted([*TYPES, *ABILITIES, *ALIASES]))}")


def load_world_source(name: str, seed: int = 0, size: int = DEFAULT_POOL) -> LoadedSource:
    """The train-split pool of one world type or ability, ``size`` rows, seeded."""
    base, variant = split_variant(name)
    kind = ALIASES.get(base, base)
    if kind in TYPES:
        abilities = TYPES[kind]
    elif kind in ABILITIES:
        abilities = (kind,)
    elif "+" in kind and all(part in ABILITIES for part in kind.split("+")):
        abilities = tuple(kind.split("+"))  # several abilities in equal parts (one held out of the others')
    else:
        known = sorted([*TYPES, *ABILITIES, *ALIASES])
        raise MixlabError(f"unknown world source '{name}'; known: {', '.join(known)}")
    label = f"{kind}:{variant}" if variant else kind  # a variant: the same items (same draws), written otherwise
    if variant == "taught":
        from mixlab.world.taught import load_taught_source

        return load_taught_source(kind, seed)
    rng = random.Random(f"world-source|{kind}|{seed}")
    examples: list[Example] = []
    seen: set[tuple[str, str]] = set()
    per = [size // len(abilities) + (1 if i < size % len(abilities) else 0) for i in range(len(abilities))]
    for ability_name, n in zip(abilities, per, strict=True):
        ability = ABILITIES[ability_name]
        got, tries = 0, 0
        while got < n:
            tries += 1
            if tries > 50 * n + 1000:  # the ability has fewer distinct train items: the pool holds them all
                break
            item = ability.draw(rng, "train")
            prompt, answer = _written(ability, item, variant)
            if (prompt, answer) in seen:
                continue
            seen.add((prompt, answer))
            examples.append(Example.from_pair(
                f"world-{ability_name}-{got:05d}", label, prompt, answer,
                instruction_type=ability.instruction_type, abilities=(ability_name,), meta={"key": item.key},
            ))
            got += 1
    random.Random(f"world-order|{kind}|{seed}").shuffle(examples)
    return LoadedSource(label, "world", f"world:{label}:seed={seed}", examples, rows_read=len(examples))
