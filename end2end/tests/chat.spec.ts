import { test, expect, type Locator, type Page } from '@playwright/test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  atConversation,
  atPath,
  conversationIdOf,
  conversationItem,
  login,
  messages,
  messagesOf,
  waitForHydration,
} from './fixtures';

/** How long a streamed (simulated) answer may take to finish. */
const ANSWER_TIMEOUT = 15_000;

/** Text as a person reads it: whitespace runs collapsed, ends trimmed. */
const normalize = (s: string | null | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();

type Snapshot = { status: string | null; text: string };

/** Status and content of a message read in one go (no race between the two). */
async function snapshot(message: Locator): Promise<Snapshot> {
  const raw = await message.evaluate((el) => ({
    status: el.getAttribute('data-status'),
    text: el.querySelector('[data-testid="message-content"]')?.textContent ?? '',
  }));
  return { status: raw.status, text: normalize(raw.text) };
}

/**
 * Poll `message` until `done(snapshot)` holds while it is still streaming.
 * Fails at once if the message stops streaming first (the answer finished
 * too fast to observe its growth) or after `timeout`.
 */
async function whileStreaming(
  page: Page,
  message: Locator,
  what: string,
  done: (s: Snapshot) => boolean,
  timeout = ANSWER_TIMEOUT,
): Promise<Snapshot> {
  const deadline = Date.now() + timeout;
  let last: Snapshot = { status: null, text: '' };
  for (;;) {
    last = await snapshot(message);
    if (last.status !== 'streaming') {
      throw new Error(
        `waiting for ${what}: message left "streaming" (status ${last.status}, text ${JSON.stringify(last.text)})`,
      );
    }
    if (done(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`waiting for ${what}: timed out; last text ${JSON.stringify(last.text)}`);
    }
    await page.waitForTimeout(40); // polling interval
  }
}

/** Type `question` in the composer and send it; returns the conversation id. */
async function ask(page: Page, question: string): Promise<string> {
  const input = page.getByTestId('composer-input');
  await input.fill(question);
  await expect(input).toHaveValue(question);
  await page.getByTestId('composer-send').click();
  await expect(page).toHaveURL(atConversation, { timeout: ANSWER_TIMEOUT });
  await waitForHydration(page); // no-op for client-side navigation
  return conversationIdOf(page);
}

test('unauthenticated visitors are sent to /login; a wrong password is refused', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(atPath('/login'));
  await waitForHydration(page);

  await page.getByTestId('login-email').fill(ADMIN_EMAIL);
  await page.getByTestId('login-password').fill(`${ADMIN_PASSWORD}-wrong`);
  await page.getByTestId('login-submit').click();

  await expect(page.getByTestId('login-error')).toBeVisible();
  await expect(page).toHaveURL(atPath('/login'));
  await expect(page.getByTestId('user-email')).toHaveCount(0);
});

test('log in, ask a question and watch the answer stream in', async ({ page }) => {
  await login(page);
  await expect(page).toHaveURL(atPath('/'));
  await expect(page.getByTestId('user-email')).toHaveText(ADMIN_EMAIL);

  const question = `Explain the energy balance of a heat pump, please. [sim tokens=60 delay_ms=60] #${Date.now()}`;
  const id = await ask(page, question);

  const user = messagesOf(page, 'user').last();
  await expect(user.getByTestId('message-content')).toHaveText(question);

  const assistant = messagesOf(page, 'assistant').last();
  await expect(assistant).toHaveAttribute('data-status', 'streaming', { timeout: ANSWER_TIMEOUT });

  // The answer grows token by token: two reads while it is still streaming.
  const first = await whileStreaming(page, assistant, 'first streamed text', (s) => s.text.length > 0);
  const second = await whileStreaming(
    page,
    assistant,
    'streamed text to grow',
    (s) => s.text.length > first.text.length,
  );
  expect(second.text.length).toBeGreaterThan(first.text.length);
  expect(second.text.startsWith(first.text)).toBe(true);

  await expect(assistant).toHaveAttribute('data-status', 'complete', { timeout: ANSWER_TIMEOUT });
  const final = normalize(await assistant.getByTestId('message-content').textContent());
  expect(final.length).toBeGreaterThan(second.text.length);
  expect(final.length).toBeGreaterThan(first.text.length);

  await expect(messagesOf(page, 'user')).toHaveCount(1);
  await expect(messagesOf(page, 'assistant')).toHaveCount(1);

  const item = conversationItem(page, id);
  await expect(item).toBeVisible();
  await expect(item).not.toHaveText(/^\s*$/);

  await expect(page.getByTestId('ollama-banner')).toBeHidden();
});

test('a conversation survives a reload and can be reopened from the list', async ({ page }) => {
  await login(page);

  const question = `What is a kilowatt-hour? [sim tokens=8 delay_ms=5] #${Date.now()}`;
  const id = await ask(page, question);
  const assistant = messagesOf(page, 'assistant').last();
  await expect(assistant).toHaveAttribute('data-status', 'complete', { timeout: ANSWER_TIMEOUT });
  const answer = normalize(await assistant.getByTestId('message-content').textContent());
  expect(answer.length).toBeGreaterThan(0);

  // Both messages are stored and rendered again after a full reload.
  const expectConversation = async () => {
    await expect(messages(page)).toHaveCount(2);
    await expect(messagesOf(page, 'user').getByTestId('message-content')).toHaveText(question);
    await expect(messagesOf(page, 'assistant')).toHaveAttribute('data-status', 'complete');
    await expect(messagesOf(page, 'assistant').getByTestId('message-content')).toHaveText(answer);
  };

  await page.reload();
  await waitForHydration(page);
  await expect(page).toHaveURL(atPath(`/c/${id}`));
  await expectConversation();

  // "New chat" gives an empty chat on /.
  await page.getByTestId('new-chat').click();
  await expect(page).toHaveURL(atPath('/'));
  await waitForHydration(page);
  await expect(messages(page)).toHaveCount(0);

  // The sidebar entry brings the conversation back.
  await conversationItem(page, id).click();
  await expect(page).toHaveURL(atPath(`/c/${id}`));
  await waitForHydration(page);
  await expectConversation();

  await expect(page.getByTestId('ollama-banner')).toBeHidden();
});

test('logging out ends the session', async ({ page }) => {
  await login(page);

  await page.getByTestId('logout').click();
  await expect(page).toHaveURL(atPath('/login'));
  await waitForHydration(page);

  await page.goto('/');
  await expect(page).toHaveURL(atPath('/login'));
  await expect(page.getByTestId('user-email')).toHaveCount(0);
});

test('Stop during a slow answer keeps the partial text and marks it stopped', async ({ page }) => {
  await login(page);
  await page.getByTestId('composer-input').fill(`cuéntame mucho [sim tokens=300 delay_ms=50] #${Date.now()}`);
  await page.getByTestId('composer-send').click();
  await expect(page).toHaveURL(atConversation, { timeout: 15_000 });
  const answer = messagesOf(page, 'assistant').last();
  await expect(answer).toHaveAttribute('data-status', 'streaming');
  await expect(answer.getByTestId('message-content')).not.toHaveText('', { timeout: 15_000 });

  await page.getByTestId('composer-stop').click();
  await expect(answer).toHaveAttribute('data-status', 'stopped', { timeout: 15_000 });
  const kept = (await answer.getByTestId('message-content').innerText()).trim();
  expect(kept.length).toBeGreaterThan(0);
  await expect(page.getByTestId('composer-send')).toBeVisible();

  // Stored as it was shown.
  await page.reload();
  await waitForHydration(page);
  const stored = messagesOf(page, 'assistant').last();
  await expect(stored).toHaveAttribute('data-status', 'stopped');
  expect((await stored.getByTestId('message-content').innerText()).trim()).toBe(kept);
});

test('reloading the page mid-answer shows the answer continue to its end', async ({ page }) => {
  await login(page);
  const id = await ask(page, `háblame de eficiencia [sim tokens=140 delay_ms=50] #${Date.now()}`);
  const answer = messagesOf(page, 'assistant').last();
  const before = await whileStreaming(page, answer, 'the first words', (s) => s.text.length > 0);

  await page.reload();
  await waitForHydration(page);
  const resumed = messagesOf(page, 'assistant').last();
  // Still generating after the reload, with at least the text seen before, and it grows.
  const during = await whileStreaming(page, resumed, 'the answer to go on after the reload', (s) =>
    s.text.length > before.text.length && s.text.startsWith(before.text.slice(0, 20)),
  );
  await expect(page.getByTestId('composer-stop')).toBeVisible();
  await expect(resumed).toHaveAttribute('data-status', 'complete', { timeout: 20_000 });
  const shown = normalize(await resumed.getByTestId('message-content').textContent());
  expect(shown.length).toBeGreaterThan(during.text.length);

  // What the page showed is the whole stored answer: the server renders the same text from
  // the database after another reload.
  const res = await page.request.get(`/api/v1/conversations/${id}`);
  expect(res.status()).toBe(200);
  const detail = await res.json();
  const stored = detail.messages[detail.messages.length - 1];
  expect(stored.status).toBe('complete');
  await page.reload();
  await waitForHydration(page);
  const rendered = messagesOf(page, 'assistant').last();
  await expect(rendered).toHaveAttribute('data-status', 'complete');
  expect(normalize(await rendered.getByTestId('message-content').textContent())).toBe(shown);
});

test('answers render Markdown safely and Copy puts a code block on the clipboard', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  let dialogs = 0;
  page.on('dialog', (dialog) => {
    dialogs += 1;
    void dialog.dismiss();
  });
  await login(page);
  const hostile = '<img src=x onerror=alert(1)> <script>alert(2)</script> [pulsa](javascript:alert(3))';
  await ask(page, `[sim echo] # Informe\n\n- **uno**\n- dos\n\n\`\`\`python\nprint('hola')\n\`\`\`\n\n${hostile}`);
  const answer = messagesOf(page, 'assistant').last();
  await expect(answer).toHaveAttribute('data-status', 'complete', { timeout: ANSWER_TIMEOUT });
  await expect(answer.locator('h1')).toHaveText('Informe');
  await expect(answer.locator('li strong')).toHaveText('uno');
  await expect(answer.locator('.code-lang')).toHaveText('python');

  await answer.locator('button.copy-code').click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("print('hola')\n");

  // The hostile parts are text: no element injected, nothing ran, the link goes nowhere.
  await expect(answer).toContainText('<img src=x onerror=alert(1)>');
  await expect(answer).toContainText('<script>alert(2)</script>');
  await expect(page.getByTestId('message-list').locator('img, script, iframe')).toHaveCount(0);
  const link = answer.locator('a', { hasText: 'pulsa' });
  await expect(link).toHaveAttribute('href', '#');
  await expect(link).toHaveAttribute('rel', 'noopener noreferrer');
  await expect(messagesOf(page, 'user').last()).toContainText('<script>alert(2)</script>');

  // The server renders the same after a reload.
  await page.reload();
  await waitForHydration(page);
  const stored = messagesOf(page, 'assistant').last();
  await expect(stored.locator('h1')).toHaveText('Informe');
  await expect(page.getByTestId('message-list').locator('img, script, iframe')).toHaveCount(0);
  expect(dialogs).toBe(0);
});

test('the sidebar finds, renames, closes and deletes conversations', async ({ page }) => {
  await login(page);
  const tag = `${Date.now()}`;
  const first = await ask(page, `Alfa ${tag} [sim tokens=4]`);
  await expect(messagesOf(page, 'assistant').last()).toHaveAttribute('data-status', 'complete', { timeout: ANSWER_TIMEOUT });
  await page.getByTestId('new-chat').click();
  await ask(page, `Beta ${tag} [sim tokens=4]`);
  await expect(messagesOf(page, 'assistant').last()).toHaveAttribute('data-status', 'complete', { timeout: ANSWER_TIMEOUT });

  const rows = page.getByTestId('conversation-row');
  await page.getByTestId('conversation-search').fill(`alfa ${tag}`);
  await expect(rows).toHaveCount(1);
  const row = rows.first();
  await expect(page.getByText('Hoy', { exact: true })).toBeVisible();

  await row.hover();
  await row.getByTestId('rename').click();
  await row.getByTestId('rename-input').fill(`Renombrada ${tag}`);
  await row.getByTestId('rename-input').press('Enter');
  await page.getByTestId('conversation-search').fill(`renombrada ${tag}`);
  await expect(rows).toHaveCount(1);
  await expect(rows.first().getByTestId('conversation-item')).toHaveText(`Renombrada ${tag}`);

  // Closed: read-only until reopened.
  await rows.first().getByTestId('conversation-item').click();
  await expect(page).toHaveURL(atPath(`/c/${first}`));
  await rows.first().hover();
  await rows.first().getByTestId('toggle-closed').click();
  await expect(rows.first()).toHaveAttribute('data-closed', 'true');
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByTestId('closed-note')).toBeVisible();
  await expect(page.getByTestId('composer-input')).toBeDisabled();
  const closedRow = page.getByTestId('conversation-row').filter({ hasText: `Renombrada ${tag}` });
  await closedRow.hover();
  await closedRow.getByTestId('toggle-closed').click();
  await expect(closedRow).toHaveAttribute('data-closed', 'false');

  // Deleting the open conversation goes back to a new chat.
  page.once('dialog', (dialog) => dialog.accept());
  await closedRow.hover();
  await closedRow.getByTestId('delete').click();
  await expect(page).toHaveURL(atPath('/'));
  await expect(page.getByTestId('conversation-row').filter({ hasText: `Renombrada ${tag}` })).toHaveCount(0);
  await expect(page.getByTestId('conversation-row').filter({ hasText: `Beta ${tag}` })).toHaveCount(1);
});

test('Retry asks again after a failure and after Stop', async ({ page }) => {
  await login(page);
  const failing = `falla ${Date.now()} [sim fault=error_mid:2]`;
  await ask(page, failing);
  const failed = messagesOf(page, 'assistant').last();
  await expect(failed).toHaveAttribute('data-status', 'failed', { timeout: ANSWER_TIMEOUT });
  await failed.getByTestId('retry').click();
  await expect(messagesOf(page, 'user')).toHaveCount(2);
  await expect(messagesOf(page, 'user').last()).toHaveText(new RegExp(failing.replace(/[[\]]/g, '\\$&')));
  await expect(messagesOf(page, 'assistant').last()).toHaveAttribute('data-status', 'failed', { timeout: ANSWER_TIMEOUT });

  await page.getByTestId('new-chat').click();
  const slow = `despacio ${Date.now()} [sim tokens=200 delay_ms=50]`;
  await ask(page, slow);
  const answer = messagesOf(page, 'assistant').last();
  await expect(answer.getByTestId('message-content')).not.toHaveText('', { timeout: ANSWER_TIMEOUT });
  await page.getByTestId('composer-stop').click();
  await expect(answer).toHaveAttribute('data-status', 'stopped', { timeout: ANSWER_TIMEOUT });
  await answer.getByTestId('retry').click();
  await expect(messagesOf(page, 'user')).toHaveCount(2);
  const again = messagesOf(page, 'assistant').last();
  await expect(again).toHaveAttribute('data-status', 'streaming');
  await expect(again.getByTestId('message-content')).not.toHaveText('', { timeout: ANSWER_TIMEOUT });
  await page.getByTestId('composer-stop').click();
  await expect(again).toHaveAttribute('data-status', 'stopped', { timeout: ANSWER_TIMEOUT });
});

test('a new chat suggests questions, and one click asks it', async ({ page }) => {
  await login(page);
  await expect(page.getByTestId('empty-chat')).toBeVisible();
  const suggestion = page.getByTestId('suggestion').first();
  const text = (await suggestion.innerText()).trim();
  await suggestion.click();
  await expect(page).toHaveURL(atConversation, { timeout: ANSWER_TIMEOUT });
  await expect(messagesOf(page, 'user').last().getByTestId('message-content')).toHaveText(text);
  await expect(messagesOf(page, 'assistant').last()).toHaveAttribute('data-status', 'complete', { timeout: ANSWER_TIMEOUT });
});

test('a 1,000-message conversation opens at its latest messages and loads older ones when scrolling up', async ({ page, request }) => {
  test.setTimeout(180_000);
  const TURNS = 500; // 1,000 messages
  // The test server's access tokens live 4 s: sign in again when one has expired.
  let headers: Record<string, string> = {};
  const signIn = async () => {
    const auth = await request.post('/api/v1/auth/login', { data: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
    headers = { authorization: `Bearer ${(await auth.json()).access_token}` };
  };
  await signIn();
  const created = await request.post('/api/v1/conversations', { headers, data: { title: `Larga ${Date.now()}` } });
  const id = (await created.json()).id as string;
  for (let i = 0; i < TURNS; i++) {
    const ask = () =>
      request.post(`/api/v1/conversations/${id}/messages`, {
        headers: { ...headers, accept: 'text/plain' },
        data: { content: `pregunta ${i} [sim tokens=1]` },
      });
    let res = await ask();
    if (res.status() === 401) {
      await signIn();
      res = await ask();
    }
    expect(res.ok(), `question ${i}: ${res.status()}`).toBeTruthy();
    await res.text();
  }

  await login(page);
  await page.goto(`/c/${id}`);
  await waitForHydration(page);
  await expect(messages(page)).toHaveCount(50);
  await expect(messagesOf(page, 'user').last().getByTestId('message-content')).toHaveText(`pregunta ${TURNS - 1} [sim tokens=1]`);
  const list = page.getByTestId('message-list');
  // Each scroll to the top loads the 50 messages before the first one shown.
  for (let expected = 100; expected <= 2 * TURNS; expected += 50) {
    await list.evaluate((el) => el.scrollTo(0, 0));
    await expect(messages(page)).toHaveCount(expected);
  }
  await expect(messagesOf(page, 'user').first().getByTestId('message-content')).toHaveText('pregunta 0 [sim tokens=1]');
  // Nothing is shown twice.
  const questions = await messagesOf(page, 'user').getByTestId('message-content').allInnerTexts();
  expect(new Set(questions).size).toBe(TURNS);
});
