// The official `openai` npm package against energyapp-llm's /v1 (run by the integration
// tests): a completion, a streamed completion with usage, the model list, and a wrong key.
// Prints one JSON object with what it saw.
import OpenAI from 'openai';

const [baseURL, apiKey, model, prompt] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const messages = [
  { role: 'system', content: 'Sé breve.' },
  { role: 'user', content: prompt },
];

const whole = await client.chat.completions.create({ model, messages });
let streamed = '';
let streamUsage = null;
const stream = await client.chat.completions.create({
  model,
  messages,
  stream: true,
  stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  streamed += chunk.choices[0]?.delta?.content ?? '';
  if (chunk.usage) streamUsage = chunk.usage.completion_tokens;
}
const models = [];
for await (const m of client.models.list()) models.push(m.id);
let wrongKey = null;
try {
  await new OpenAI({ baseURL, apiKey: 'ea_not-a-real-key', maxRetries: 0 }).models.list();
} catch (e) {
  wrongKey = e.status;
}
console.log(
  JSON.stringify({
    text: whole.choices[0].message.content,
    finish_reason: whole.choices[0].finish_reason,
    usage: whole.usage.completion_tokens,
    streamed,
    stream_usage: streamUsage,
    models: models.sort(),
    wrong_key: wrongKey,
  }),
);
