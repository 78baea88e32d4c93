import { test, expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { login, messagesOf, waitForHydration } from './fixtures';

// An automated accessibility review (axe-core, WCAG 2.1 A and AA rules) of every main page,
// light and dark: labels, names, roles, contrast. Serious and critical findings fail the test.

async function review(page: Page, what: string) {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const findings = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join('\n  ')}`);
  // The review ran: rules were checked against this page.
  expect(results.passes.length, `${what}: rules checked`).toBeGreaterThan(10);
  expect(findings, `${what}:\n${findings.join('\n')}`).toEqual([]);
}

for (const scheme of ['light', 'dark'] as const) {
  test(`login, chat and admin views pass an accessibility review (${scheme})`, async ({ page }) => {
    test.setTimeout(120_000);
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto('/login');
    await waitForHydration(page);
    await review(page, 'login');

    await login(page);
    await page.getByTestId('composer-input').fill('[sim echo] ## Título\n\nTexto con `código` y un [enlace](https://example.com).\n\n```rust\nfn main() {}\n```');
    await page.getByTestId('composer-send').click();
    await expect(messagesOf(page, 'assistant').last()).toHaveAttribute('data-status', 'complete', { timeout: 15_000 });
    await review(page, 'chat');
    await page.getByTestId('settings-toggle').click();
    await expect(page.getByTestId('settings-panel')).toBeVisible();
    await review(page, 'chat with the settings panel');

    for (const view of ['users', 'conversations', 'usage', 'api-keys', 'audit', 'backends']) {
      await page.goto(`/admin/${view}`);
      await expect(page.getByTestId('admin-layout')).toBeVisible();
      await waitForHydration(page);
      await review(page, `admin ${view}`);
    }
  });
}

test('the chat can be used with the keyboard alone', async ({ page }) => {
  await login(page);
  await page.goto('/');
  await expect(page.getByTestId('new-chat')).toBeVisible();
  await waitForHydration(page);
  // On a freshly loaded page the skip link is the first stop and leads to the conversation.
  await page.keyboard.press('Tab');
  const skip = page.locator('.skip-link');
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(page.locator('#main')).toBeFocused();
  // Reach the composer with Tab, type, send with Enter.
  const composer = page.getByTestId('composer-input');
  for (let i = 0; i < 40 && !(await composer.evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(composer).toBeFocused();
  await page.keyboard.type(`Pregunta con teclado [sim tokens=3] #${Date.now()}`);
  await page.keyboard.press('Enter');
  await expect(messagesOf(page, 'assistant').last()).toHaveAttribute('data-status', 'complete', { timeout: 15_000 });
  // Focus is shown: the focused element has a visible outline.
  const outline = await composer.evaluate((el) => {
    (el as HTMLElement).focus();
    return getComputedStyle(el).outlineStyle;
  });
  expect(outline).not.toBe('none');
});
