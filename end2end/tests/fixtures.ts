import { expect, type Locator, type Page } from '@playwright/test';

/** Bootstrap admin created by ../scripts/e2e-server.sh. */
export const ADMIN_EMAIL = process.env.E2E_ADMIN_EMAIL ?? 'admin@e2e.test';
export const ADMIN_PASSWORD = process.env.E2E_ADMIN_PASSWORD ?? 'e2e-password-123';

/** Path of a conversation page, `/c/<uuid>`; group 1 is the uuid. */
export const CONVERSATION_PATH =
  /^\/c\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i;

/** URL predicate for toHaveURL: the path is exactly `path` (query/hash ignored). */
export const atPath = (path: string) => (url: URL) =>
  url.pathname.replace(/\/+$/, '') === path.replace(/\/+$/, '');

/** URL predicate for toHaveURL: a conversation page `/c/<uuid>`. */
export const atConversation = (url: URL) => CONVERSATION_PATH.test(url.pathname);

/** The conversation uuid of the page's current URL (throws if not on `/c/<uuid>`). */
export function conversationIdOf(page: Page): string {
  const m = CONVERSATION_PATH.exec(new URL(page.url()).pathname);
  if (!m) throw new Error(`not on a conversation page: ${page.url()}`);
  return m[1];
}

/**
 * The page is server-rendered first and then hydrated by WASM; the app sets
 * `data-hydrated="true"` on <body> once the WASM has started. Interacting
 * before that would hit inert SSR markup, so wait for it after every full
 * page load (goto, reload, server redirect).
 */
export async function waitForHydration(page: Page, timeout = 30_000): Promise<void> {
  await page.locator('body[data-hydrated="true"]').waitFor({ state: 'attached', timeout });
}

/** Log in through the /login form as the bootstrap admin; ends hydrated on `/`. */
export async function login(
  page: Page,
  email: string = ADMIN_EMAIL,
  password: string = ADMIN_PASSWORD,
): Promise<void> {
  await page.goto('/login');
  await waitForHydration(page);
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await expect(page).toHaveURL(atPath('/'), { timeout: 15_000 });
  await waitForHydration(page);
  await expect(page.getByTestId('user-email')).toHaveText(email);
}

/** All chat messages in the message list. */
export function messages(page: Page): Locator {
  return page.getByTestId('message-list').getByTestId('message');
}

/** Chat messages of one role ("user" | "assistant"). */
export function messagesOf(page: Page, role: 'user' | 'assistant'): Locator {
  return messages(page).and(page.locator(`[data-role="${role}"]`));
}

/**
 * The sidebar entry linking to conversation `id`, whether the
 * `conversation-item` testid sits on the <a> itself or on a wrapper around it.
 */
export function conversationItem(page: Page, id: string): Locator {
  const items = page.getByTestId('conversation-list').getByTestId('conversation-item');
  const link = page.locator(`[href$="/c/${id}"]`);
  return items.and(link).or(items.filter({ has: link }));
}
