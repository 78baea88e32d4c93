import { test, expect, type APIRequestContext } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD, atPath, login, waitForHydration } from './fixtures';

const PASSWORD = 'a-person-password-1';

async function adminHeaders(request: APIRequestContext) {
  const auth = await request.post('/api/v1/auth/login', { data: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
  expect(auth.ok()).toBeTruthy();
  return { authorization: `Bearer ${(await auth.json()).access_token}` };
}

/** A fresh account for this test, created through the admin API. */
async function newPerson(request: APIRequestContext, tag: string): Promise<string> {
  const email = `${tag}-${Date.now()}@e2e.test`;
  const res = await request.post('/api/v1/admin/users', {
    headers: await adminHeaders(request),
    data: { email, password: PASSWORD },
  });
  expect(res.status()).toBe(201);
  return email;
}

test('an admin deactivates a person in the table; that person is sent to /login on their next action', async ({
  page,
  browser,
  request,
}) => {
  const email = await newPerson(request, 'baja');
  const personContext = await browser.newContext();
  const person = await personContext.newPage();
  await login(person, email, PASSWORD);

  await login(page);
  await page.getByTestId('admin-link').click();
  await expect(page).toHaveURL(atPath('/admin/users'));
  await page.getByTestId('filter-q').fill(email);
  const row = page.locator(`[data-testid="user-row"][data-email="${email}"]`);
  await expect(row).toHaveAttribute('data-active', 'true');
  page.once('dialog', (dialog) => dialog.accept());
  await row.getByTestId('toggle-active').click();
  await expect(row).toHaveAttribute('data-active', 'false');

  // The person's very next action ends their session.
  await person.getByTestId('composer-input').fill('¿sigo aquí?');
  await person.getByTestId('composer-send').click();
  await expect(person).toHaveURL(atPath('/login'), { timeout: 15_000 });
  await personContext.close();

  // The action is in the audit log.
  await page.getByTestId('admin-nav-audit').click();
  const entry = page.getByTestId('audit-row').filter({ hasText: email }).first();
  await expect(entry).toHaveAttribute('data-action', 'user.deactivated');
});

test('an admin opens a conversation read-only and sees no edit control', async ({ page, request }) => {
  const email = await newPerson(request, 'lectura');
  const auth = await request.post('/api/v1/auth/login', { data: { email, password: PASSWORD } });
  const token = (await auth.json()).access_token;
  const question = `Consulta supervisada ${Date.now()}`;
  const chat = await request.post('/api/v1/chat', {
    headers: { authorization: `Bearer ${token}`, accept: 'text/plain' },
    data: { message: question },
  });
  expect(chat.ok()).toBeTruthy();
  const answer = await chat.text();
  expect(answer.length).toBeGreaterThan(0);

  await login(page);
  await page.goto('/admin/conversations');
  await waitForHydration(page);
  await page.getByTestId('filter-q').fill(question);
  await page.getByTestId('filter-q').press('Enter');
  const rows = page.getByTestId('conversation-row');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(email);
  await rows.first().getByTestId('open-conversation').click();

  const view = page.getByTestId('admin-conversation');
  await expect(view.getByTestId('read-only-note')).toBeVisible();
  await expect(view.getByTestId('message')).toHaveCount(2);
  await expect(view.getByTestId('message').first()).toContainText(question);
  await expect(view.getByTestId('message-meta')).toContainText('tokens');
  // Nothing to edit: no buttons, fields or editable text anywhere in the view, no composer.
  await expect(view.locator('button, input, textarea, select, [contenteditable]')).toHaveCount(0);
  await expect(page.getByTestId('composer-input')).toHaveCount(0);
});

test('a person who types an admin URL is turned away', async ({ page }) => {
  await login(page, 'user@e2e.test', 'e2e-user-password-1');
  await expect(page.getByTestId('admin-link')).toHaveCount(0);
  await page.goto('/admin/users');
  await expect(page).toHaveURL(atPath('/'), { timeout: 15_000 });
  await waitForHydration(page);
  await expect(page.getByTestId('admin-layout')).toHaveCount(0);
  await expect(page.getByTestId('users-table')).toHaveCount(0);
  // And the API says no as well.
  const res = await page.request.get('/api/v1/admin/users');
  expect(res.status()).toBe(403);
});

test('an admin creates an API key, an app uses it, the admin revokes it', async ({ page, request }) => {
  await login(page);
  await page.goto('/admin/api-keys');
  await waitForHydration(page);
  const name = `ERP ${Date.now()}`;
  await page.getByTestId('new-key').click();
  await page.getByTestId('key-name').fill(name);
  await page.getByTestId('key-owner').fill(ADMIN_EMAIL);
  await page.getByTestId('key-submit').click();
  const secret = (await page.getByTestId('new-key-secret').innerText()).trim();
  expect(secret).toMatch(/^ea_[A-Za-z0-9]{43}$/);
  const row = page.locator(`[data-testid="key-row"][data-name="${name}"]`);
  await expect(row).toContainText(secret.slice(0, 11));
  expect(await page.locator('body').innerText()).toContain(secret); // shown once, here
  await page.reload();
  await waitForHydration(page);
  expect(await page.locator('body').innerText()).not.toContain(secret); // and never again

  const headers = { authorization: `Bearer ${secret}` };
  expect((await request.get('/v1/models', { headers })).status()).toBe(200);
  page.once('dialog', (dialog) => dialog.accept());
  await row.getByTestId('revoke-key').click();
  await expect(row).toHaveAttribute('data-state', 'Revocada');
  const refused = await request.get('/v1/models', { headers });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error.code).toBe('invalid_api_key');
});

test('an admin sees the backend generating one answer and the next one waiting, then free', async ({ page, request }) => {
  // The test server's access tokens live 4 s: each call below signs in again.
  const headers = async () => adminHeaders(request);
  // Two long answers at once; the demo backend generates one at a time (max_parallel 1).
  const ids: string[] = [];
  for (const title of ['Máquina A', 'Máquina B']) {
    const created = await request.post('/api/v1/conversations', { headers: await headers(), data: { title } });
    expect(created.status()).toBe(201);
    ids.push((await created.json()).id as string);
  }
  const h = await headers();
  const asked = ids.map((id, i) =>
    request.post(`/api/v1/conversations/${id}/messages`, {
      headers: { ...h, accept: 'text/plain' },
      data: { content: `respuesta larga ${i} [sim tokens=200 delay_ms=200]` },
      timeout: 60_000,
    }),
  );

  await login(page);
  await page.goto('/admin/backends');
  await waitForHydration(page);
  const row = page.getByTestId('backend-row');
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute('data-state', 'healthy');
  const [inFlight, queued] = [row.locator('td.num').nth(0), row.locator('td.num').nth(1)];
  await expect(async () => {
    await page.getByTestId('backends-refresh').click();
    await expect(inFlight).toHaveText('1 / 1', { timeout: 1_000 });
    await expect(queued).toHaveText('1', { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });

  // Both stopped (the waiting one leaves the line): the backend is free again.
  for (const id of ids) {
    const stopped = await request.post(`/api/v1/conversations/${id}/stop`, { headers: await headers() });
    expect(stopped.ok()).toBeTruthy();
  }
  for (const answer of await Promise.all(asked)) expect(answer.ok()).toBeTruthy();
  await expect(async () => {
    await page.getByTestId('backends-refresh').click();
    await expect(inFlight).toHaveText('0 / 1', { timeout: 1_000 });
    await expect(queued).toHaveText('0', { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
});
