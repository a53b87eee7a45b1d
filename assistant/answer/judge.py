"""The model's own judgement of whether a passage answers a question, read at a calibrated threshold.

No entailment model ships offline (every candidate package downloads its weights from a hub), so the judge is the
bundled model itself, shown one passage and the question and asked a yes/no under a JSON schema. Its plain verdict
is uncalibrated: worded one way it said yes to every answer, worded another way no to nearly every one. What
separates answers from false premises is how much it prefers "yes": measured with a logit bias on the "yes" token,
answerable questions kept "yes" down to a bias of -0.75 to -3.5, false-premise ones lost it between +0.5 and -0.5.
The verdict is therefore read once with the bias :data:`YES_BIAS`, chosen on the broad set (README) for the rate of
false answers it lets through. Endpoints that cannot take a bias by token text (anything but the embedded server)
get the plain verdict of their own model.
"""

from __future__ import annotations

import json
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
_VERDICT_TOKENS = 12


class SupportJudge:
    """``judge(passage, question)``: whether the model, reading only ``passage``, finds that it answers ``question``.

    Verdicts are remembered for the life of the judge (an answer's claims often share their passage).
    """

    def __init__(self, model: ChatModel, yes_bias: float = YES_BIAS) -> None:
        self.model = model
        self.yes_bias = yes_bias
        self._cached = lru_cache(maxsize=256)(self._ask)

    def __call__(self, passage: str, question: str) -> bool:
        return self._cached(passage, question)

    def _ask(self, passage: str, question: str) -> bool:
        user = load_prompt("judge_user").replace("{passage}", passage).replace("{question}", question)
        messages = [Message("system", load_prompt("judge_system")), Message("user", user)]
        reply = self.model.complete(
            messages, max_tokens=_VERDICT_TOKENS, schema=VERDICT_SCHEMA, bias={"yes": self.yes_bias}
        )
        try:
            return json.loads(reply).get("verdict") == "yes"
        except (json.JSONDecodeError, AttributeError):
            return False
