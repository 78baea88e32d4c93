"""The official `openai` Python package against energyapp-llm's /v1 (run by the integration
tests): a completion, a streamed completion with usage, the model list, and a wrong key.
Prints one JSON object with what it saw."""

import json
import sys

import openai
from openai import OpenAI

base_url, api_key, model, prompt = sys.argv[1:5]
client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0)
messages = [{"role": "system", "content": "Sé breve."}, {"role": "user", "content": prompt}]

whole = client.chat.completions.create(model=model, messages=messages)
parts, usage = [], None
stream = client.chat.completions.create(
    model=model, messages=messages, stream=True, stream_options={"include_usage": True}
)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        parts.append(chunk.choices[0].delta.content)
    if chunk.usage is not None:
        usage = chunk.usage.completion_tokens
models = sorted(m.id for m in client.models.list())
try:
    OpenAI(base_url=base_url, api_key="ea_not-a-real-key", max_retries=0).models.list()
    wrong_key = None
except openai.AuthenticationError as e:
    wrong_key = e.status_code
print(json.dumps({
    "text": whole.choices[0].message.content,
    "finish_reason": whole.choices[0].finish_reason,
    "usage": whole.usage.completion_tokens,
    "streamed": "".join(parts),
    "stream_usage": usage,
    "models": models,
    "wrong_key": wrong_key,
}))
