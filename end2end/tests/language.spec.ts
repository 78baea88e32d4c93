import { test, expect, type Page } from '@playwright/test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  atConversation,
  atPath,
  messagesOf,
  waitForHydration,
} from './fixtures';

/** Words of each language's UI that the other language's pages must never show. */
const UI_WORDS = {
  es: ['Nueva conversación', 'Cerrar sesión', 'Enviar', 'Detener', 'Ajustes', 'Conversaciones', 'Hoy', 'Reintentar', 'Respuesta detenida', 'Usuarios', 'Acciones'],
  en: ['New chat', 'Sign out', 'Send', 'Stop', 'Settings', 'Conversations', 'Today', 'Retry', 'Answer stopped', 'Users', 'Actions'],
} as const;

type Lang = keyof typeof UI_WORDS;
const OTHER: Record<Lang, Lang> = { es: 'en', en: 'es' };

const TEXT = {
  es: { signIn: 'Entrar', heading: 'Iniciar sesión', newChat: 'Nueva conversación', send: 'Enviar', stop: 'Detener', stopped: 'Respuesta detenida', retry: 'Reintentar', today: 'Hoy', settings: 'Ajustes', users: 'Usuarios', date: /\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}/ },
  en: { signIn: 'Sign in', heading: 'Sign in', newChat: 'New chat', send: 'Send', stop: 'Stop', stopped: 'Answer stopped', retry: 'Retry', today: 'Today', settings: 'Settings', users: 'Users', date: /\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}/ },
};

/** The page's own words (what people typed and the model wrote left out). */
async function uiText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const copy = document.body.cloneNode(true) as HTMLElement;
    copy.querySelectorAll('[data-testid="message-content"], script, style').forEach((el) => el.remove());
    return copy.innerText ?? copy.textContent ?? '';
  });
}

/** Fails if the page shows a word of the other language's UI. */
async function expectOnly(page: Page, lang: Lang) {
  await expect(page.locator('html')).toHaveAttribute('lang', lang);
  const text = await uiText(page);
  for (const word of UI_WORDS[OTHER[lang]]) {
    // Whole words only ("Stop" must not match inside another word).
    const re = new RegExp(`(^|[^\\p{L}])${word}($|[^\\p{L}])`, 'u');
    expect(re.test(text), `"${word}" (${OTHER[lang]}) on a page in ${lang}:\n${text}`).toBe(false);
  }
}

for (const lang of ['es', 'en'] as const) {
  test(`the whole flow in ${lang === 'es' ? 'Spanish' : 'English'}`, async ({ page, context }) => {
    test.setTimeout(120_000);
    const t = TEXT[lang];
    await context.clearCookies();
    await page.goto('/login');
    await waitForHydration(page);
    // Spanish unless the person chooses otherwise.
    await expect(page.locator('html')).toHaveAttribute('lang', 'es');
    if (lang === 'en') {
      await page.getByTestId('language-picker').selectOption('en');
      await expect(page.locator('html')).toHaveAttribute('lang', 'en');
      await waitForHydration(page);
    }
    await expect(page.getByRole('heading', { name: t.heading })).toBeVisible();
    await expect(page.getByTestId('login-submit')).toHaveText(t.signIn);
    await expectOnly(page, lang);

    await page.getByTestId('login-email').fill(ADMIN_EMAIL);
    await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
    await page.getByTestId('login-submit').click();
    await expect(page).toHaveURL(atPath('/'), { timeout: 15_000 });
    await waitForHydration(page);
    await expect(page.getByTestId('new-chat')).toHaveText(t.newChat);
    await expect(page.getByTestId('composer-send')).toHaveText(t.send);
    await expectOnly(page, lang);

    // Ask, stop, retry: every state in the chosen language.
    await page.getByTestId('composer-input').fill(`Hello 123 [sim tokens=200 delay_ms=40] #${Date.now()}`);
    await page.getByTestId('composer-send').click();
    await expect(page).toHaveURL(atConversation, { timeout: 15_000 });
    const answer = messagesOf(page, 'assistant').last();
    await expect(answer.getByTestId('message-content')).not.toBeEmpty({ timeout: 15_000 });
    await expect(page.getByTestId('composer-stop')).toHaveText(t.stop);
    await page.getByTestId('composer-stop').click();
    await expect(answer).toHaveAttribute('data-status', 'stopped', { timeout: 15_000 });
    await expect(answer).toContainText(t.stopped);
    await expect(answer.getByTestId('retry')).toHaveText(t.retry);
    await expect(page.getByTestId('conversation-list')).toContainText(t.today);
    await expect(page.getByTestId('settings-toggle')).toContainText(t.settings);
    await expectOnly(page, lang);

    // The choice is remembered: a reload keeps it.
    await page.reload();
    await waitForHydration(page);
    await expect(page.getByTestId('new-chat')).toHaveText(t.newChat);
    await expectOnly(page, lang);

    // The admin views too, with dates written the language's way.
    await page.goto('/admin/users');
    await waitForHydration(page);
    await expect(page.getByTestId('admin-nav-users')).toHaveText(t.users);
    const row = page.getByTestId('user-row').filter({ hasText: ADMIN_EMAIL });
    await expect(row).toContainText(t.date);
    await expectOnly(page, lang);
  });
}

test('switching the language in the chat reloads it in the other language', async ({ page, context }) => {
  await context.clearCookies();
  await page.goto('/login');
  await waitForHydration(page);
  await page.getByTestId('login-email').fill(ADMIN_EMAIL);
  await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
  await page.getByTestId('login-submit').click();
  await expect(page).toHaveURL(atPath('/'), { timeout: 15_000 });
  await waitForHydration(page);
  await expect(page.getByTestId('new-chat')).toHaveText(TEXT.es.newChat);

  await page.getByTestId('language-picker').selectOption('en');
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await waitForHydration(page);
  await expect(page.getByTestId('new-chat')).toHaveText(TEXT.en.newChat);
  await expectOnly(page, 'en');

  await page.getByTestId('language-picker').selectOption('es');
  await expect(page.locator('html')).toHaveAttribute('lang', 'es');
  await waitForHydration(page);
  await expect(page.getByTestId('new-chat')).toHaveText(TEXT.es.newChat);
  await expectOnly(page, 'es');
});
