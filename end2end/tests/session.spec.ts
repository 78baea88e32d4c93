import { expect, test } from '@playwright/test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  atConversation,
  atPath,
  login,
  messagesOf,
  waitForHydration,
} from './fixtures';

/** A second, non-admin account created by ../scripts/e2e-server.sh. */
const USER_EMAIL = process.env.E2E_USER_EMAIL ?? 'user@e2e.test';
const USER_PASSWORD = process.env.E2E_USER_PASSWORD ?? 'e2e-user-password-1';
/** The e2e server's access-token lifetime (ENERGYAPP_AUTH__ACCESS_TTL_SECS in e2e-server.sh). */
const ACCESS_TTL_MS = 4_000;

test('the session survives access-token expiry without the person noticing', async ({ page }) => {
  await login(page);
  // Let the access token expire (a real wait: the lifetime is what is under test).
  await page.waitForTimeout(ACCESS_TTL_MS + 1_500);

  await page.getByTestId('composer-input').fill(`¿sigo dentro? [sim tokens=6 delay_ms=5] #${Date.now()}`);
  await page.getByTestId('composer-send').click();
  await expect(page).toHaveURL(atConversation, { timeout: 15_000 });
  const answer = messagesOf(page, 'assistant').last();
  await expect(answer).toHaveAttribute('data-status', 'complete', { timeout: 15_000 });

  // Expire again, then load a page from scratch: it is restored, not sent to /login.
  await page.waitForTimeout(ACCESS_TTL_MS + 1_500);
  await page.reload();
  await expect(page.getByTestId('user-email')).toHaveText(ADMIN_EMAIL, { timeout: 15_000 });
  await waitForHydration(page);
  await expect(page).toHaveURL(atConversation);
  await expect(messagesOf(page, 'assistant').last()).toHaveAttribute('data-status', 'complete');
});

test('a deactivated person is sent to /login on their next action', async ({ page, request }) => {
  await login(page, USER_EMAIL, USER_PASSWORD);

  const auth = await request.post('/api/v1/auth/login', { data: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
  expect(auth.ok()).toBeTruthy();
  const token = (await auth.json()).access_token as string;
  const headers = { authorization: `Bearer ${token}` };
  const users = await (await request.get('/api/v1/admin/users', { headers })).json();
  const target = users.items.find((u: { email: string }) => u.email === USER_EMAIL);
  const off = await request.patch(`/api/v1/admin/users/${target.id}`, { headers, data: { active: false } });
  expect(off.ok()).toBeTruthy();

  try {
    await page.getByTestId('composer-input').fill('¿hola?');
    await page.getByTestId('composer-send').click();
    await expect(page).toHaveURL(atPath('/login'), { timeout: 15_000 });
  } finally {
    await request.patch(`/api/v1/admin/users/${target.id}`, { headers, data: { active: true } });
  }
});

test('a person changes their own password, then signs in with it', async ({ page, request }) => {
  const newPassword = 'a-brand-new-password-2';
  await login(page, USER_EMAIL, USER_PASSWORD);
  await page.getByTestId('user-email').click();
  await expect(page).toHaveURL(atPath('/account'));
  try {
    await page.getByTestId('password-current').fill('not-my-password');
    await page.getByTestId('password-new').fill(newPassword);
    await page.getByTestId('password-submit').click();
    await expect(page.getByTestId('password-result')).toContainText('La contraseña actual no es correcta');

    await page.getByTestId('password-current').fill(USER_PASSWORD);
    await page.getByTestId('password-new').fill(newPassword);
    await page.getByTestId('password-submit').click();
    await expect(page.getByTestId('password-result')).toContainText('Contraseña cambiada');

    // This session carries on; the old password no longer works.
    await page.getByTestId('new-chat').click();
    await expect(page).toHaveURL(atPath('/'));
    const old = await request.post('/api/v1/auth/login', { data: { email: USER_EMAIL, password: USER_PASSWORD } });
    expect(old.status()).toBe(401);

    await page.getByTestId('logout').click();
    await expect(page).toHaveURL(atPath('/login'));
    await login(page, USER_EMAIL, newPassword);
  } finally {
    // Put the shared test account back as it was.
    const auth = await request.post('/api/v1/auth/login', { data: { email: USER_EMAIL, password: newPassword } });
    if (auth.ok()) {
      const token = (await auth.json()).access_token as string;
      await request.post('/api/v1/auth/password', {
        headers: { authorization: `Bearer ${token}` },
        data: { current_password: newPassword, new_password: USER_PASSWORD },
      });
    }
  }
});
