"""The model's own judgements of a claim, read at calibrated thresholds: whether its passage answers the question,
and whether its sentence states its answer to that question.

No entailment model ships offline (every candidate package downloads its weights from a hub), so the judge is the
bundled model itself, shown one passage and the question and asked a yes/no under a JSON schema. Its plain verdict
is uncalibrated: worded one way it said yes to every answer, worded another way no to nearly every one. What
separates answers from false premises is how much it prefers "yes": measured with a logit bias on the "yes" token,
answerable questions kept "yes" down to a bias of -0.75 to -3.5, false-premise ones lost it between +0.5 and -0.5.
The verdict is therefore read once with the bias :data:`YES_BIAS`, chosen on the broad set (README) for the rate of
false answers it lets through. The passage can answer the question while the model copied the wrong words of it
(another treaty, a neighbouring figure): the second judgement reads the copied answer beside its sentence alone, at
:data:`STATES_YES_BIAS`. Endpoints that cannot take a bias by token text (anything but the embedded server)
get the plain verdict of their own model.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from assistant.answer.prompts import load_prompt
from assistant.llm.protocol import ChatModel, Message

VERDICT_SCHEMA = {
    "type": "object",
    "properties": {"verdict": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["verdict"],
    "additionalProperties": False,
}
#: The logit bias on "yes": the bundled model must prefer it by more than this margin. Rescoring one broad-set run
#: with the margins measured offline (yes minus no, passage and question alone): from 0.5 to 0.75, 13 wrong
#: answers shown fewer and 1 more false premise refused, for 6 right answers lost; at 1.0, 14 more lost for 14.
YES_BIAS = -0.75
#: The bias for "this sentence gives this answer to this question". Rescoring one broad-set run (352 questions)
#: with this prompt's margins measured offline, over the claims the other checks let through: at 0.5, 4 wrong
#: answers shown fewer for none right lost; at 0.75, 10 fewer (3 of them false premises) for 1 right lost; at 1.0,
#: 16 fewer for 10 lost. Chosen on the run it was measured on: the live run in the README is the check.
STATES_YES_BIAS = -0.75
_VERDICT_TOKENS = 12
#: A field of a judge prompt, filled in one pass so an article that holds "{question}" is left as it is.
_FIELD = re.compile(r"\{(\w+)\}")


class SupportJudge:
    """The model's two yes/no readings of a claim, each with nothing else in view than what it names.

    Verdicts are remembered for the life of the judge (an answer's claims often share their passage).
    """

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self._cached = lru_cache(maxsize=512)(self._ask)

    def answers(self, passage: str, question: str) -> bool:
        """Whether the model, reading only ``passage``, finds that it answers ``question``."""
        return self._cached("judge_user", YES_BIAS, (("passage", passage), ("question", question)))

    def states(self, sentence: str, question: str, answer: str) -> bool:
        """Whether the model, reading only ``sentence``, finds that it gives ``answer`` to ``question`` (the same
        people, things, places, numbers and dates)."""
        fields = (("sentence", sentence), ("question", question), ("answer", answer))
        return self._cached("judge_states_user", STATES_YES_BIAS, fields)

    def _ask(self, prompt: str, yes_bias: float, fields: tuple[tuple[str, str], ...]) -> bool:
        values = dict(fields)
        user = _FIELD.sub(lambda found: values.get(found[1], found[0]), load_prompt(prompt))
        messages = [Message("system", load_prompt("judge_system")), Message("user", user)]
        reply = self.model.complete(messages, max_tokens=_VERDICT_TOKENS, schema=VERDICT_SCHEMA, bias={"yes": yes_bias})
        try:
            return json.loads(reply).get("verdict") == "yes"
        except (json.JSONDecodeError, AttributeError):
            return False
