"""Tag examples with an instruction type and an ability, by rules first (an embedding classifier is optional).

Instruction types (``INSTRUCTION_TYPES``): ``nlp`` (templated NLP tasks: P3, FLAN, natural-instructions),
``code``, ``math``, ``chat`` (open-ended requests: Alpaca, ShareGPT, Dolly). Abilities (``ABILITIES``) follow
the ten of the instruction-dynamics study; ``docs/abilities.md`` defines each one.

The rules, in order (the first that fires wins):

1. a type already set by the converter (CodeAlpaca -> code; P3 / FLAN / natinst -> nlp) is kept;
2. code: a code fence, lines that parse as code syntax, or a request that names a language or a program;
3. math: arithmetic in the prompt together with a quantity question, or math vocabulary;
4. nlp: a templated-task shape (``Question: ... Answer:``, option lists, "Choose from", label sets);
5. otherwise chat.

Abilities are scored by keyword families (each hit adds its weight, at most 3 hits per family). A clear
role-play request wins; then code -> code_generation and math -> math_cot; otherwise the best keyword
score (a conversation of more than one exchange adds to dialogue_understanding); with no hit at all,
nlp -> language_proficiency, a request to write -> creative_writing, else stem_knowledge.

>>> from mixlab.data.example import Example
>>> ex = Example.from_pair("q1", "demo", "Write a Python function that reverses a string.", "def rev(s): return s[::-1]")
>>> tagged = tag_examples([ex])[0]
>>> tagged.instruction_type, tagged.abilities
('code', ('code_generation',))
>>> tag_text("Compose a haiku about autumn leaves.")
('chat', 'creative_writing')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from mixlab.data.example import INSTRUCTION_TYPES, Example

#: The ten abilities (see docs/abilities.md), modelled on the instruction-dynamics study's taxonomy.
ABILITIES = (
    "stem_knowledge",
    "humanities",
    "code_generation",
    "creative_writing",
    "language_proficiency",
    "dialogue_understanding",
    "role_play",
    "logical_reasoning",
    "math_cot",
    "ethics",
)

#: MT-Bench's eight categories mapped onto the taxonomy (used to measure tagging accuracy).
MT_BENCH_ABILITY = {
    "writing": "creative_writing",
    "roleplay": "role_play",
    "reasoning": "logical_reasoning",
    "math": "math_cot",
    "coding": "code_generation",
    "extraction": "language_proficiency",
    "stem": "stem_knowledge",
    "humanities": "humanities",
}
MT_BENCH_TYPE = {"coding": "code", "math": "math"}  # every other category is chat


def _lower_literals(pattern: str) -> str:
    """Lower-case a regex's literal letters, leaving escapes (``\\S``, ``\\W``, ``\\d``...) as they are."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\":
            out.append(pattern[i:i + 2])
            i += 2
        else:
            out.append(pattern[i].lower())
            i += 1
    return "".join(out)


def _lc(pattern: str) -> re.Pattern[str]:
    """A pattern matched against lower-cased text: about 4x faster than ``re.IGNORECASE`` on long prompts."""
    return re.compile(_lower_literals(pattern))


# ---------------------------------------------------------------------------------------------- code
_FENCE = re.compile(r"```")
_CODE_LINE = re.compile(
    r"^\s*(def \w+\(|class \w+[:(]|import \w+|from \w+(\.\w+)* import |#include\s*<|public (static )?\w+|"
    r"private \w+|function\s*\w*\s*\(|const \w+\s*=|let \w+\s*=|var \w+\s*=|for\s*\(.*;|while\s*\(|"
    r"if\s*\(.*\)\s*\{|return\b.*;?$|print\(|console\.log\(|System\.out\.|SELECT\b.*|INSERT INTO|CREATE TABLE|"
    r"UPDATE \w+ SET|<(html|div|body|head|table|p|ul|li|script|style|form|input)\b|[.#]?[\w-]+\s*\{$|\}\s*$|"
    r"\w+\s*=\s*\[.*\]$|\w+\s*=\s*\{.*\}$|@\w+|\$\w+\s*=)",
    re.MULTILINE | re.IGNORECASE,
)
# Terms that name programming on their own (a language, a data structure, a programming activity) ...
_CODE_STRONG = _lc(
    r"\b(python|java(script)?|c\+\+|c#|typescript|golang|php|perl|kotlin|scala|sql|mysql|"
    r"postgres(ql)?|html|css|jquery|react(\.js| component)|node\.?js|bash|shell script|powershell|applescript|"
    r"regex|regexp|regular expression|code|coding|snippet|programming|programmer|algorithm|data structure|"
    r"(an|the|this|given|input|sorted|unsorted|2d) array|arrays|array of (integers|numbers|strings|objects|"
    r"elements)|linked list|binary (search )?tree|hash ?(map|table)|recursion|recursive|compile[rd]?|"
    r"debug|variables?|tuple|callback|api|ajax|http request|"
    r"function (that|to|which|in|named|called)|sort(ing)? algorithm|big-?o|time complexity|"
    r"web ?page|database|unit test|git|docker|json object|class (named|called|for|in))\b",
)
# ... and weaker terms that need a verb of making or changing (``write a program``, ``create a table``).
_CODE_REQUEST = _lc(r"\b(function|method|class|program|script|query|loop|stack|queue|string|list|"
                    r"object|module|library|command|terminal)\b")
_CODE_VERBS = _lc(r"\b(write|create|implement|generate|construct|design|develop|build|edit|fix|"
                  r"rewrite|modify|convert|refactor|complete|debug|optimi[sz]e|make|output|"
                  r"print|return|sort|reverse|parse|compute)\b")


def code_syntax_lines(text: str) -> int:
    """Number of lines that look like program syntax (a cheap, language-agnostic count)."""
    return len(_CODE_LINE.findall(text))


def looks_like_code(text: str) -> bool:
    """True when ``text`` contains code or asks for it.

    >>> looks_like_code("def add(a, b):\\n    return a + b")
    True
    >>> looks_like_code("Name three colours of the rainbow.")
    False
    """
    low = text.lower()
    if _FENCE.search(text) or code_syntax_lines(text) >= 2 or _CODE_STRONG.search(low):
        return True
    return bool(_CODE_REQUEST.search(low) and _CODE_VERBS.search(low))


# ---------------------------------------------------------------------------------------------- math
_ARITH = _lc(r"\d+(\.\d+)?\s*[-+*/×÷^=<>]\s*\(?-?\d+|\b[a-z]\s*[-+*/^=]\s*\d|\d\s*[a-z]\^\d|"
             r"\b[a-z]\s*[+*/^=]\s*[a-z]\b")
_MATH_WORDS = _lc(
    r"\b(calculate|compute|solve|equation|integral|derivative|probability|percent(age)?|sum of|product of|"
    r"how many|how much|average|mean|median|ratio|fraction|prime|factor(ial|ize)?|polynomial|area|perimeter|"
    r"volume|triangle|circle|radius|square root|algebra|geometry|arithmetic|theorem|proof|inequality|half|"
    r"twice|triple|"
    r"matrix|vector|digits?|remainder|divisible|modulo|log(arithm)?|x\s*=|f\(x\))\b",
)
_NUMBER = re.compile(r"\d")
_PERCENT = _lc(r"\d\s*%|\bprobability\b")

# ----------------------------------------------------------------------------------------------- nlp
_NLP_TEMPLATE = _lc(
    r"(^|\n)\s*(Question|Answer|Context|Passage|Article|Premise|Hypothesis|Sentence \d|Options?|Choices?|"
    r"Review|Title|Summary|Dialogue|Claim|Q|A)\s*:|===|"
    r"\b(choose (from|between|one of|your answer|the (best|correct|most))|options?:|pick (one|the best|from)|"
    r"select (one|the (best|correct))|answer (yes|no|true|false)|yes or no|true or false|"
    r"is this (review|product review|tweet|sentence)|positive or negative|sentiment|review rating|"
    r"rate (it|this|the review)|tl;?dr|in a nutshell|the (text|sentence|article|passage|paragraph|review|"
    r"context|question|dialogue|conversation) above|the above (text|sentence|article|passage|paragraph|review|"
    r"context|question|dialogue|conversation)|(given|read|based on|according to|using) the (following|"
    r"above|below|text|passage|article|paragraph|context|background|plot|movie plot|dialogue|"
    r"conversation|review)|answer the (following )?question|what would be the answer|can you tell me what it "
    r"is|what is the answer|label best describes|best describes|what (category|topic|label)|same (thing|"
    r"meaning)|paraphrase|entail(s|ment)?|generate a question|write a (title|summary|question|headline for "
    r"the)|build a movie plot|movie plot|write a summary|summari[sz]e (this|the (text|article|dialogue))|"
    r"what is the title|what might be|(the|this) (article|passage|review|dialogue|tweet) (is|was|says|"
    r"mentions)|with the word|using the words|keywords?:|concepts?:|the following (words|concepts))\b|"
    r"\n\s*-\s+\S.*\n\s*-\s+\S|(summary|summari[sz]e|sum up)( for)? (this|the) (dialog(ue)?|text|article|"
    r"document|conversation|passage)|all (the|these|of the) concepts|(is|was) the correct answer|best answer|"
    r"guess it|rephrase (that|this)|rating for|star rating|★",
)
_COMPLETION_END = re.compile(r"[^.?!\"')»\]}*`]\s*$")
_OPTIONS = re.compile(r"\bOPTIONS\b")  # FLAN's marker, upper case on purpose
_NLP_STRONG = _lc(r"===|(^|\n)\s*(Question|Answer|Premise|Hypothesis|Options?|Choices?)\s*:|"
                  r"\n\s*-\s+\S.*\n\s*-\s+\S.*\n\s*-\s+\S")


# ------------------------------------------------------------------------------------------ abilities
# Keyword families; weights say how sure a hit is. Patterns match the prompt (lower-cased).
_ABILITY_RULES: dict[str, list[tuple[str, float]]] = {
    "role_play": [
        (r"\b(pretend|act as|acting as|role[- ]?play|imagine you are|imagine yourself|you are (a|an|the) "
         r"\w+|as if you were|in the (voice|style|persona) of|embody|stay in character|let'?s play|"
         r"take on the role|you will be|assume the role|i want you to act|play the role|now you are|"
         r"embrace the role|picture yourself|pretend yourself|persona|as (sheldon|a character))\b", 3.0),
    ],
    "ethics": [
        (r"\b(ethic(s|al)|moral(ity|ly)?|is it (right|wrong|ok(ay)?|acceptable)|should (i|we|people) "
         r"(ever )?(lie|steal|cheat)|harm(ful)?|fair(ness)?|bias(ed)?|discriminat\w*|privacy|consent|"
         r"justice|dilemma|responsib(le|ility)|values)\b", 1.5),
    ],
    "math_cot": [
        (r"\b(solve|calculate|compute|equation|integral|derivative|probability|arithmetic|algebra|geometry|"
         r"triangle|polynomial|theorem|prime numbers?|how many|sum of|remainder|x\^?2|area of|percent)\b", 1.5),
        (r"\d+\s*[-+*/×÷^=]\s*\d+", 1.5),
    ],
    "code_generation": [
        (r"```|\bdef \w+\(|\b(python|java(script)?|c\+\+|sql|html|css|function|program|algorithm|code|"
         r"script|regex|api|class|array|compile|debug|implement)\b", 2.0),
    ],
    "logical_reasoning": [
        (r"\b(riddle|puzzle|logic(al)?|deduce|infer|if .* then|which (one|of the following) (is|must)|"
         r"true or false|consequence|therefore|premise|conclusion|syllogism|paradox|sequence|pattern|"
         r"who is|what is the relationship|older than|taller than|faster than|race|order of|"
         r"brain ?teaser|trick question|reason(ing)?|step by step|what comes next|overtake|overtaken|"
         r"brothers?|sisters?|father of|mother of|grandfather|does not belong|where is the|what could be the "
         r"reasons?|true, false,? or uncertain|which (direction|way)|facing|shadow|position)\b", 2.0),
    ],
    "creative_writing": [
        (r"\b(write|compose|draft|craft|create|construct|develop|edit) "
         r"(a|an|me a|me an|the|two|three|\d+)? ?(\w+ ){0,3}"
         r"(poem|story|essay|blog|post|letter|email|song|lyrics|haiku|limerick|script|speech|"
         r"slogan|tweet|description|review|proposal|toast|joke|dialogue|ad|advertisement|headline|"
         r"tagline|narrative|novel|fable|tale|article|memo|paragraph|caption|introduction|"
         r"itinerary|pitch|bio|profile|message|invitation|announcement|report|summary|outline)\b", 3.0),
        (r"\b(headline|blog post|catchy|outline for|travel blog|persuasive email)\b", 2.0),
        (r"\b(poem|story|haiku|limerick|lyrics|fiction|creative(ly)?|imaginative|metaphor|rhyme|narrat\w+|"
         r"persuasive|catchy|vivid|compose|brainstorm|slogan|blog)\b", 1.0),
    ],
    "language_proficiency": [
        (r"\b(translate|translation|grammar|grammatical|rewrite|rephrase|paraphrase|synonym|antonym|"
         r"summari[sz]e|summary|proofread|spelling|punctuation|sentence|word|extract|identify the|"
         r"list (all|the)|json|table|classify|categori[sz]e|tone|formal|informal|edit|correct the|"
         r"return .* format|parse|named entit\w*|keywords?|meaning of|define|definition|passive voice|"
         r"adjective|noun|verb)\b", 1.0),
        (r"\b(extract|named entities|json|csv|in the format|output in|return the results|present the results|"
         r"assign (them|each)|count how many|scale of 1 to|evaluate the following)\b", 2.0),
    ],
    "dialogue_understanding": [
        (r"\b(dialogue|conversation|chat log|transcript|speaker|said to|replied|person [ab]|"
         r"#person\d#|what did .* say|in the conversation|the dialogue)\b", 1.5),
    ],
    "stem_knowledge": [
        (r"\b(physics|chemistry|chemical|biology|biological|cell|dna|gene|protein|atom|molecule|energy|"
         r"quantum|force|gravity|velocity|electric\w*|magnet\w*|reaction|photosynthesis|evolution|"
         r"species|ecosystem|climate|planet|star|galaxy|astronom\w*|engineer\w*|machine learning|"
         r"neural network|artificial intelligence|computer science|scien(ce|tific)|medical|medicine|"
         r"disease|virus|bacteria|vaccine|enzyme|thermodynamic\w*|entropy|wavelength|statistic\w*|"
         r"technology|superposition|geolog\w*|mineral|ocean|weather|temperature|acid|oxygen|carbon)\b",
         1.0),
    ],
    "humanities": [
        (r"\b(history|historical|century|war|empire|revolution|philosoph\w*|religio\w*|cultur(e|al)|"
         r"society|social|politic\w*|government|democracy|econom\w*|market|art(ist|work)?|music(al)?|"
         r"literature|novel|author|poet|shakespeare|ancient|civili[sz]ation|law|legal|constitution|"
         r"anthropolog\w*|sociolog\w*|psycholog\w*|education|language|linguistic\w*|myth\w*|"
         r"architecture|theat(er|re)|film|movie|renaissance|colonial\w*|president|king|queen|"
         r"nation|country|countries|tax|policy|business|marketing|strategy|leadership|socrates|plato|"
         r"aristotle|mortality|stages of life|argument|analytical|documentar(y|ies)|lesson plan|etiquette|"
         r"norms|antitrust|monopol\w*)\b", 1.5),
    ],
}
_COMPILED = {a: [(_lc(p), w) for p, w in rules] for a, rules in _ABILITY_RULES.items()}
# speaker turns ("Anna: ... / Ben: ...") need the capital letters, so this one reads the original text
_TRANSCRIPT = re.compile(r"(^|\n)\s*[A-Z][a-z]+\s*:\s.*\n\s*[A-Z][a-z]+\s*:\s")
_WRITE_REQUEST = _lc(r"^\s*(please )?(write|compose|draft|craft|create|generate|come up with|"
                     r"describe|tell me a story)\b")


def ability_scores(prompt: str) -> dict[str, float]:
    """Keyword scores per ability for one prompt (only abilities with a hit appear)."""
    scores: dict[str, float] = {}
    low = prompt.lower()
    for ability, rules in _COMPILED.items():
        s = sum(w * min(len(rx.findall(low)), 3) for rx, w in rules)
        if s:
            scores[ability] = s
    if _TRANSCRIPT.search(prompt):
        scores["dialogue_understanding"] = scores.get("dialogue_understanding", 0.0) + 2.0
    return scores


def instruction_type_of(prompt: str, response: str = "", hint: str | None = None) -> str:
    """The instruction type of one example by the rules in the module docstring.

    >>> instruction_type_of("What is 17 * 3?"), instruction_type_of("Question: Is the sky blue?\\nAnswer:")
    ('math', 'nlp')
    """
    if hint in INSTRUCTION_TYPES:
        return hint
    low = prompt.lower()
    words = low.split()  # lower-casing never adds or removes whitespace: as many words as the prompt
    n_words = len(words)
    if _FENCE.search(prompt) or code_syntax_lines(prompt) >= 2 or code_syntax_lines(response) >= 2:
        return "code"
    # A long passage (P3, ShareGPT pastes) is read at its ends only: "code of conduct" in an article is not a request.
    ask = low if n_words <= 120 else " ".join([*words[:40], "...", *words[-40:]])
    if _CODE_STRONG.search(ask) or (_CODE_REQUEST.search(ask) and _CODE_VERBS.search(ask)
                                    and code_syntax_lines(response) >= 1):
        return "code"
    if _NLP_STRONG.search(low) or _OPTIONS.search(prompt):
        return "nlp"
    # Math wants the numbers to be the point: a long passage that happens to quote "$219" or "98.3%" is not.
    if n_words < 120 and (_ARITH.search(low) or _PERCENT.search(low) or
                          (_NUMBER.search(prompt) and len(_MATH_WORDS.findall(low)) >= 1)):
        return "math"
    # Templated tasks: a cue phrase, or a passage that ends mid-sentence for the model to complete.
    if _NLP_TEMPLATE.search(low) or (n_words >= 30 and _COMPLETION_END.search(prompt)):
        return "nlp"
    return "chat"


def ability_of(prompt: str, itype: str, turns: int = 1) -> str:
    """The ability of one example: the best keyword score, else a fallback from the type."""
    scores = ability_scores(prompt)
    if scores.get("role_play", 0.0) >= 3.0:  # "act as a math teacher" is role-play first, whatever the topic
        return "role_play"
    if itype == "code":
        return "code_generation"
    if itype == "math":
        return "math_cot"
    if turns > 2 and "role_play" not in scores:
        scores["dialogue_understanding"] = scores.get("dialogue_understanding", 0.0) + 1.5
    if scores:
        return max(scores, key=lambda a: (scores[a], -ABILITIES.index(a)))
    if itype == "nlp":
        return "language_proficiency"
    return "creative_writing" if _WRITE_REQUEST.search(prompt.lower()) else "stem_knowledge"


def tag_text(prompt: str, response: str = "", hint: str | None = None, turns: int = 1) -> tuple[str, str]:
    """``(instruction_type, ability)`` of one prompt by rules."""
    itype = instruction_type_of(prompt, response, hint)
    return itype, ability_of(prompt, itype, turns)


def tag_examples(examples: Iterable[Example], method: str = "rules", *, override: bool = False,
                 use_hints: bool = True) -> list[Example]:
    """Return copies of ``examples`` with ``instruction_type`` and ``abilities`` filled in.

    ``method="rules"`` uses the keyword rules above; ``method="embedding"`` uses the optional MiniLM
    nearest-prototype classifier (``mixlab.data.embed_tagger``; needs ``pip install 'mixlab[embed]'``).
    Tags already present are kept unless ``override``; ``use_hints=False`` ignores the type a converter set
    (that is how the text-only accuracy in docs/data.md is measured).
    """
    examples = list(examples)
    if method == "embedding":
        from mixlab.data.embed_tagger import EmbeddingTagger

        return EmbeddingTagger().tag(examples, override=override, use_hints=use_hints)
    if method != "rules":
        raise ValueError(f"unknown tagging method {method!r}; use 'rules' or 'embedding'")
    out = []
    for ex in examples:
        if ex.instruction_type and ex.abilities and not override:
            out.append(ex)
            continue
        hint = ex.instruction_type if use_hints else None
        user_turns = sum(1 for m in ex.messages if m.role == "user")
        itype, ability = tag_text(ex.prompt, ex.response, hint, turns=2 * user_turns)
        out.append(replace(ex, instruction_type=itype, abilities=(ability,)))
    return out


def confusion(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, dict[str, int]]:
    """Confusion table ``{true label: {predicted label: count}}``.

    >>> confusion(["a", "a", "b"], ["a", "b", "b"])
    {'a': {'a': 1, 'b': 1}, 'b': {'b': 1}}
    """
    table: dict[str, dict[str, int]] = {}
    for t, p in zip(truth, predicted, strict=True):
        row = table.setdefault(t, {})
        row[p] = row.get(p, 0) + 1
    return {t: dict(sorted(row.items())) for t, row in sorted(table.items())}
