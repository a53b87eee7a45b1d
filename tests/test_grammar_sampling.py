"""The grammar-checked greedy sampler picks exactly the tokens llama-cpp-python's own sampler picks.

A real model (SmolLM2-135M, in this process) decodes the same prompts under the same grammars both ways; the
odd schema forces tokens the model would not choose, so the fall-back to the full grammar pass is exercised too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from llama_cpp import Llama
from llama_cpp.llama_grammar import LlamaGrammar

from assistant.llm import grammar_sampling

CLAIMS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "claims": {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "evidence": {"type": "array", "maxItems": 3, "items": {"type": "integer", "enum": [3, 4, 9]}},
                },
                "required": ["text", "evidence"],
            },
        }
    },
    "required": ["claims"],
}
ODD: dict[str, Any] = {
    "type": "object",
    "properties": {"code": {"type": "integer", "enum": [7, 42]}, "tag": {"type": "string", "pattern": "^[A-C]{3}$"}},
    "required": ["code", "tag"],
}
PROMPTS = [
    "Sentence 3: Kidal is a town in northern Mali. Sentence 4: Wagner fought there.\nWho fought in Kidal? JSON:",
    "Quelle est la capitale de la France ? Réponds en JSON :",
]


@pytest.fixture(scope="module")
def smollm(smollm_path: Path) -> Llama:
    return Llama(str(smollm_path), n_ctx=1024, n_batch=64, n_threads=1, verbose=False, logits_all=False)


def decode(llm: Llama, prompt: str, schema: dict[str, Any], **options: Any) -> str:
    grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    reply = llm.create_completion(prompt, grammar=grammar, max_tokens=60, **options)
    return str(reply["choices"][0]["text"])


@pytest.mark.parametrize("schema", [CLAIMS, ODD], ids=["claims", "odd"])
@pytest.mark.parametrize("repeat_penalty", [1.0, 1.1])
def test_the_same_tokens_as_llama_cpp_python_own_sampler(
    smollm: Llama, schema: dict[str, Any], repeat_penalty: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = [decode(smollm, prompt, schema, temperature=0.0, repeat_penalty=repeat_penalty) for prompt in PROMPTS]
    monkeypatch.setattr(Llama, "_init_sampler", grammar_sampling.checked_init_sampler(Llama._init_sampler))
    checked = [decode(smollm, prompt, schema, temperature=0.0, repeat_penalty=repeat_penalty) for prompt in PROMPTS]
    assert checked == own
    for text in checked:
        if text.rstrip().endswith("}"):
            jsonschema.validate(json.loads(text), schema)


def test_sampling_with_a_temperature_keeps_llama_cpp_python_own_sampler(
    smollm: Llama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Llama, "_init_sampler", grammar_sampling.checked_init_sampler(Llama._init_sampler))
    grammar = LlamaGrammar.from_json_schema(json.dumps(ODD), verbose=False)
    sampler = smollm._init_sampler(temp=0.8, grammar=grammar)
    assert not isinstance(sampler, grammar_sampling.GrammarCheckedGreedySampler)
    greedy = smollm._init_sampler(temp=0.0, grammar=grammar)
    assert isinstance(greedy, grammar_sampling.GrammarCheckedGreedySampler)
