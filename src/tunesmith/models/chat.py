"""The chat template and prompt format shared by training, generation and evaluation.

Training and generation must agree on every character of the prompt: a model fine-tuned on
one layout and queried with another loses much of what it learned. So the template and the
user-message layout live here, once.
"""

from __future__ import annotations

from typing import Any

from tunesmith.utils.text import normalize_context

SYSTEM_TOKEN = "<|system|>"
USER_TOKEN = "<|user|>"
ASSISTANT_TOKEN = "<|assistant|>"
BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"
PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"

#: Every token the built-in tokenizer treats as special (one id each, never split).
SPECIAL_TOKENS: tuple[str, ...] = (
    UNK_TOKEN,
    BOS_TOKEN,
    EOS_TOKEN,
    PAD_TOKEN,
    SYSTEM_TOKEN,
    USER_TOKEN,
    ASSISTANT_TOKEN,
)

# The assistant's content *and* its eos sit inside {% generation %}: TRL's
# `assistant_only_loss` (through `return_assistant_tokens_mask`) then trains the model on the
# answer and on stopping, and on nothing the user wrote. The generation prompt is exactly the
# text that precedes assistant content in a full conversation, so a prompt rendered for
# generation is a prefix of the training sequence (no train/serve skew).
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|assistant|>\n' }}"
    "{% generation %}{{ message['content'] }}{{ eos_token }}{% endgeneration %}"
    "{{ '\n' }}"
    "{% else %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def format_user_message(context: str, question: str) -> str:
    """The user turn: the seed's ``Context: ...\\nQuestion: ...`` prompt format, the context
    in the data build's text format (``utils.text.normalize_context``) on every path."""
    return f"Context: {normalize_context(context)}\nQuestion: {question}"


def build_messages(context: str, question: str, system: str) -> list[dict[str, str]]:
    """The conversation for one context-question pair, without the answer.

    Append ``{"role": "assistant", "content": answer}`` for a training example; pass it as is
    with ``add_generation_prompt=True`` for generation.
    """
    messages = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": format_user_message(context, question)})
    return messages


INSTRUCTION_FORMAT = "instruction"
"""``QARecord.provenance["format"]`` of a general instruction (the forgetting mitigations' replay
examples): asked as a user asks the model, without a context or the guard's system message."""


def build_instruction_messages(prompt: str) -> list[dict[str, str]]:
    """A general instruction as a user asks it: one user turn, no context, no system message
    (a model's own template adds its default one). The forgetting probe generates with it and
    replay trains with it, so both see the base model's ordinary chat format."""
    return [{"role": "user", "content": prompt}]


def ensure_chat_template(tokenizer: Any) -> Any:
    """Give ``tokenizer`` tunesmith's template only if it has none of its own.

    A Hub instruct model was tuned on its own template and must keep it; a base model without
    one gets ours, so that ``apply_chat_template`` works everywhere. Returns the tokenizer.
    """
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer
