import { test, expect, type APIRequestContext } from '@playwright/test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  atConversation,
  conversationIdOf,
  login,
  messagesOf,
  waitForHydration,
} from './fixtures';

async function api(request: APIRequestContext) {
  const auth = await request.post('/api/v1/auth/login', { data: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
  expect(auth.ok()).toBeTruthy();
  return { authorization: `Bearer ${(await auth.json()).access_token}` };
}

test('a new chat starts with the model and system prompt chosen in the settings panel', async ({ page, request }) => {
  await login(page);
  await page.getByTestId('settings-toggle').click();
  const panel = page.getByTestId('settings-panel');
  await expect(panel).toBeVisible();
  // The installed models are offered (the simulator has two).
  const select = panel.getByTestId('settings-model');
  await expect(select.locator('option[value="llama3.2:1b"]')).toHaveCount(1);
  await expect(select.locator('option[value="qwen2.5:3b-instruct"]')).toHaveCount(1);
  await select.selectOption('llama3.2:1b');
  await panel.getByTestId('settings-prompt').fill('Responde como un pirata.');
  await panel.getByTestId('settings-save').click();
  await expect(panel.getByTestId('settings-notice')).toHaveText('Se aplicarán a tu primera pregunta.');

  await page.getByTestId('composer-input').fill(`Hola [sim tokens=3] #${Date.now()}`);
  await page.getByTestId('composer-send').click();
  await expect(page).toHaveURL(atConversation, { timeout: 15_000 });
  await expect(messagesOf(page, 'assistant').last()).toHaveAttribute('data-status', 'complete', { timeout: 15_000 });
  const id = conversationIdOf(page);

  const headers = await api(request);
  const stored = await (await request.get(`/api/v1/conversations/${id}`, { headers })).json();
  expect(stored.conversation.model).toBe('llama3.2:1b');
  expect(stored.conversation.system_prompt).toBe('Responde como un pirata.');
  await expect(page.getByTestId('model-chip')).toHaveText('llama3.2:1b');

  // The next new chat starts from the defaults again.
  await page.getByTestId('new-chat').click();
  await page.getByTestId('settings-toggle').click();
  await expect(page.getByTestId('settings-prompt')).toHaveValue('');
});

test("a conversation's model and system prompt are changed from the panel", async ({ page, request }) => {
  const headers = await api(request);
  const created = await request.post('/api/v1/conversations', {
    headers,
    data: { title: `Ajustes ${Date.now()}`, model: 'llama3.2:1b', system_prompt: 'Sé breve.' },
  });
  expect(created.status()).toBe(201);
  const id = (await created.json()).id as string;

  await login(page);
  await page.goto(`/c/${id}`);
  await waitForHydration(page);
  await expect(page.getByTestId('model-chip')).toHaveText('llama3.2:1b');
  await page.getByTestId('settings-toggle').click();
  const panel = page.getByTestId('settings-panel');
  await expect(panel.getByTestId('settings-prompt')).toHaveValue('Sé breve.');
  await expect(panel.getByTestId('settings-model')).toHaveValue('llama3.2:1b');
  await panel.getByTestId('settings-model').selectOption('qwen2.5:3b-instruct');
  await panel.getByTestId('settings-prompt').fill('');
  await panel.getByTestId('settings-save').click();
  await expect(panel.getByTestId('settings-notice')).toHaveText('Ajustes guardados.');

  const stored = await (await request.get(`/api/v1/conversations/${id}`, { headers })).json();
  expect(stored.conversation.model).toBe('qwen2.5:3b-instruct');
  expect(stored.conversation.system_prompt).toBeNull();

  // A reload shows what was saved.
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByTestId('model-chip')).toHaveText('qwen2.5:3b-instruct');
});
