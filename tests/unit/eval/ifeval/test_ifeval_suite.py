"""The ifeval suite on a small IFEval-format fixture: id mapping, unsupported ids, strict/loose accuracies."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from mixlab.errors import MixlabError
from mixlab.eval.ifeval.ifeval_ids import SUPPORTED_IDS, Unsupported, to_spec
from mixlab.eval.ifeval.suite import ifeval_suite, load_ifeval
from mixlab.eval.ifeval.verify import validate_instructions
from mixlab.eval.lm import GenerationRequest

FIXTURE = Path(__file__).parent / "data" / "ifeval_sample.jsonl"

ANSWERS = {
    "owls": "Here are facts:\n* owls hunt at night\n* owls can turn their heads\n* owls have soft feathers",
    "rainy": "Sure, here it is:\nthe rain taps softly on the window while the grey street slowly wakes up "
             "under heavy clouds",
    "neighbour": "Dear neighbour, your garden looks lovely. Any other questions?",
    "leaves": "**<<Falling Leaves>>**\nLeaves fall because trees save water in winter.",
    "JSON": '```json\n{"name": "Tom", "sound": "meow"}\n```',
    "photosynthesis": "Plants use light to make sugar.\n***\nThey release oxygen as they do it.",
}


class AnswerBook:
    """A model that answers from a table keyed by a word of the prompt."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def identity(self) -> dict:
        return {"model": "answer-book"}

    def loglikelihood(self, requests: Sequence) -> list:
        raise NotImplementedError

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[str]]:
        out = []
        for r in requests:
            text = r.prompt[-1].content
            self.prompts.append(text)
            out.append([next(a for k, a in ANSWERS.items() if k in text)])
        return out


def test_fixture_scores_match_hand_computed_accuracies() -> None:
    (task,) = ifeval_suite(ifeval_file=str(FIXTURE))
    result = task.evaluate(AnswerBook())
    m = {k: v.value for k, v in result.metrics.items()}
    assert m["prompt_level_strict_acc"] == pytest.approx(4 / 6)
    assert m["inst_level_strict_acc"] == pytest.approx(6 / 9)
    assert m["prompt_level_loose_acc"] == pytest.approx(5 / 6)
    assert m["inst_level_loose_acc"] == pytest.approx(7 / 9)
    assert result.metrics["inst_level_strict_acc"].n == 9 and result.primary == "prompt_level_strict_acc"
    assert result.counts == {"prompts": 6, "prompts_unsupported": 2, "instructions": 9, "instructions_unsupported": 2}
    assert result.config["unsupported_ids"] == {"detectable_content:rephrase_paragraph": 1,
                                                "language:response_language": 1}
    rainy = next(r for r in result.items if r["key"] == "2")
    assert [(i["check"], i["strict"], i["loose"]) for i in rainy["instructions"]] == [
        ("word_count", True, True), ("all_lowercase", False, True)]
    assert (result.ability, result.instruction_type) == ("instruction_following", "chat")


def test_limit_picks_a_seeded_sample() -> None:
    (task,) = ifeval_suite(ifeval_file=str(FIXTURE), limit=3, seed=1)
    book = AnswerBook()
    result = task.evaluate(book)
    assert result.counts["prompts"] == 3 and len(book.prompts) == 3


def test_every_supported_id_maps_to_a_valid_spec() -> None:
    examples = {
        "keywords:existence": {"keywords": ["a", "b"]}, "keywords:frequency": {"keyword": "x", "frequency": 2,
                                                                             "relation": "less than"},
        "keywords:forbidden_words": {"forbidden_words": ["no"]},
        "keywords:letter_frequency": {"letter": "z", "let_frequency": 3, "let_relation": "at least"},
        "language:response_language": {"language": "de"},
        "length_constraints:number_sentences": {"num_sentences": 4, "relation": "less than"},
        "length_constraints:number_paragraphs": {"num_paragraphs": 3},
        "length_constraints:number_words": {"num_words": 100, "relation": "at least"},
        "length_constraints:nth_paragraph_first_word": {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "so"},
        "detectable_content:number_placeholders": {"num_placeholders": 2},
        "detectable_content:postscript": {"postscript_marker": "P.P.S"},
        "detectable_format:number_bullet_lists": {"num_bullets": 4},
        "detectable_format:number_highlighted_sections": {"num_highlights": 2},
        "detectable_format:multiple_sections": {"section_spliter": "SECTION", "num_sections": 3},
        "combination:repeat_prompt": {"prompt_to_repeat": "Say hi."},
        "startend:end_checker": {"end_phrase": "Bye."},
        "change_case:capital_word_frequency": {"capital_frequency": 3, "capital_relation": "at least"},
    }
    for iid in SUPPORTED_IDS:
        validate_instructions([to_spec(iid, examples.get(iid, {}))])
    assert len(SUPPORTED_IDS) == 25


def test_unmappable_arguments_are_unsupported() -> None:
    with pytest.raises(Unsupported, match="not known to the language heuristic"):
        to_spec("language:response_language", {"language": "tlh"})
    with pytest.raises(Unsupported, match="missing argument 'num_bullets'"):
        to_spec("detectable_format:number_bullet_lists", {})


def test_missing_data_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(MixlabError, match="suite-arg ifeval_file=PATH"):
        ifeval_suite(data_dir=str(tmp_path))
    with pytest.raises(MixlabError, match="IFEval file not found"):
        ifeval_suite(ifeval_file=str(tmp_path / "missing.jsonl"))


def test_malformed_records_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x", "instruction_id_list": ["punctuation:no_comma"], "kwargs": []}\n')
    with pytest.raises(MixlabError, match="record 1: needs 'prompt'"):
        load_ifeval(bad)


def test_builtin_prompts_are_a_fixed_checkable_set() -> None:
    from mixlab.eval.ifeval.builtin import builtin_records
    from mixlab.eval.ifeval.checks import get_check

    prompts, unsupported, left_out = load_ifeval("builtin")
    assert len(prompts) == 200 and left_out == 0 and not unsupported  # every instruction is checkable
    assert builtin_records() == builtin_records()  # the same set on every call and install
    ids = [i for p in prompts for i in p.instruction_ids]
    assert len(set(ids)) == 20 and 1.3 < len(ids) / len(prompts) < 1.7
    assert all(len(p.instruction_ids) == len(set(p.instruction_ids)) for p in prompts)
    for p in prompts:  # never two case rules, never no-comma JSON, never a content rule beside a repeat
        kinds = set(p.instruction_ids)
        assert not {"change_case:english_lowercase", "change_case:english_capital"} <= kinds
        assert not {"punctuation:no_comma", "detectable_format:json_format"} <= kinds
        assert "combination:repeat_prompt" not in kinds or len(kinds) == 1
    repeat = next(p for p in prompts if "combination:repeat_prompt" in p.instruction_ids)
    request = repeat.specs[0]["prompt"]
    assert repeat.prompt.startswith(request) and get_check("repeats_prompt")(request + " Owls hunt.", prompt=request)
    (task,) = ifeval_suite(ifeval_file="builtin", limit=5)
    assert len(task.prompts) == 5 and task.source == "builtin"
