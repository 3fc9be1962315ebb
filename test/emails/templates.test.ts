import { describe, expect, it } from 'vitest';
import AlreadySubscribed from '../../src/emails/AlreadySubscribed.js';
import Confirm from '../../src/emails/Confirm.js';
import PreferencesChanged from '../../src/emails/PreferencesChanged.js';
import { renderSubscriberEmail, type SubscriberTemplate } from '../../src/emails/render.js';
import Welcome from '../../src/emails/Welcome.js';

const frame = {
  programmeName: 'Housing First Voorbeeldregio',
  postalAddress: 'Postbus 123, 1234 AB Voorbeeldstad',
  contactEmail: 'info@voorbeeld.test',
};
const links = {
  preferencesUrl: 'https://nieuws.voorbeeld.test/preferences/pref-token',
  unsubscribeUrl: 'https://nieuws.voorbeeld.test/unsubscribe/unsub-token',
};
const hostile = '<script>alert("x")</script> & Co';

function templates(locale: 'nl' | 'en', name: string | null = hostile): SubscriberTemplate[] {
  return [
    {
      kind: 'confirmation',
      props: {
        ...frame,
        locale,
        name,
        topics: ['Nieuwsbrief', '<i>Artikelen</i>'],
        confirmUrl: 'https://nieuws.voorbeeld.test/confirm/confirm-token',
        validDays: 7,
      },
    },
    { kind: 'welcome', props: { ...frame, ...links, locale, name, topics: ['Nieuwsbrief'] } },
    { kind: 'preferences-changed', props: { ...frame, ...links, locale, name, topics: ['Artikelen'] } },
    { kind: 'already-subscribed', props: { ...frame, ...links, locale, name } },
  ];
}

const expected = {
  nl: {
    confirmation: {
      subject: 'Bevestig je aanmelding bij Housing First Voorbeeldregio',
      body: 'Bevestig je aanmelding',
    },
    welcome: { subject: 'Welkom bij Housing First Voorbeeldregio', body: 'Je aanmelding is bevestigd.' },
    'preferences-changed': {
      subject: 'Je voorkeuren zijn aangepast',
      body: 'Taal van de e-mails: Nederlands.',
    },
    'already-subscribed': {
      subject: 'Je bent al aangemeld bij Housing First Voorbeeldregio',
      body: 'je hoeft niets te doen',
    },
  },
  en: {
    confirmation: {
      subject: 'Confirm your subscription to Housing First Voorbeeldregio',
      body: 'Confirm your subscription',
    },
    welcome: { subject: 'Welcome to Housing First Voorbeeldregio', body: 'Your subscription is confirmed.' },
    'preferences-changed': {
      subject: 'Your preferences have been changed',
      body: 'Language of the emails: English.',
    },
    'already-subscribed': {
      subject: 'You are already subscribed to Housing First Voorbeeldregio',
      body: 'nothing you need to do',
    },
  },
} as const;

describe('subscriber email templates', () => {
  for (const locale of ['nl', 'en'] as const) {
    for (const template of templates(locale)) {
      it(`${template.kind} (${locale}): HTML and text, language, footer, links, escaping`, async () => {
        const email = await renderSubscriberEmail(template);
        const want = expected[locale][template.kind];
        expect(email.subject).toBe(want.subject);
        expect(email.html).toMatch(new RegExp(`<html[^>]* lang="${locale}"`));
        expect(email.html).toContain(want.body);
        expect(email.text).toContain(want.body);
        for (const part of [email.html, email.text]) {
          expect(part).toContain('Housing First Voorbeeldregio');
          expect(part).toContain('Postbus 123, 1234 AB Voorbeeldstad');
          expect(part).toContain('info@voorbeeld.test');
        }
        // Why the reader gets it.
        expect(email.text).toMatch(
          locale === 'nl' ? /Je ontvangt deze e-mail omdat/ : /You receive this email because/,
        );

        // User input is text, never markup.
        expect(email.html).not.toContain('<script>');
        expect(email.html).not.toContain('<i>Artikelen</i>');
        expect(email.html).toContain('&lt;script&gt;');

        if (template.kind === 'confirmation') {
          expect(email.html).toContain('href="https://nieuws.voorbeeld.test/confirm/confirm-token"');
          expect(email.text).toContain('https://nieuws.voorbeeld.test/confirm/confirm-token');
          // Not on the list yet: no unsubscribe or preferences link in the confirmation.
          expect(email.html).not.toContain('/unsubscribe/');
          expect(email.html).not.toContain('/preferences/');
        } else {
          for (const part of [email.html, email.text]) {
            expect(part).toContain(links.preferencesUrl);
            expect(part).toContain(links.unsubscribeUrl);
          }
        }

        // Dark mode and narrow screens: a colour scheme, dark overrides, no fixed width above 320 px.
        expect(email.html).toContain('<meta name="color-scheme" content="light dark"/>');
        expect(email.html).toContain('@media (prefers-color-scheme: dark)');
        for (const match of email.html.matchAll(/(?<!max-)width:\s*(\d+)px/g)) {
          expect(Number(match[1])).toBeLessThanOrEqual(320);
        }
        expect(email.html).not.toMatch(/width="(?:[4-9]\d\d|\d{4,})"/);
        expect(email.html).not.toMatch(/<img(?![^>]*\balt=)/);
      });
    }
  }

  it('greets without a name when there is none', async () => {
    const [confirm] = templates('nl', null);
    const email = await renderSubscriberEmail(confirm!);
    expect(email.text).toContain('Hallo,');
  });

  it('shows a logo with the programme name as alt text', async () => {
    const email = await renderSubscriberEmail({
      kind: 'welcome',
      props: {
        ...frame,
        ...links,
        locale: 'nl',
        name: null,
        topics: [],
        logoUrl: 'https://voorbeeld.test/logo.png',
      },
    });
    expect(email.html).toMatch(
      /<img[^>]*alt="Housing First Voorbeeldregio"[^>]*src="https:\/\/voorbeeld\.test\/logo\.png"/,
    );
  });

  it('every template has PreviewProps for the React Email preview, and they render', async () => {
    const all = [
      { kind: 'confirmation', component: Confirm },
      { kind: 'welcome', component: Welcome },
      { kind: 'preferences-changed', component: PreferencesChanged },
      { kind: 'already-subscribed', component: AlreadySubscribed },
    ] as const;
    for (const { kind, component } of all) {
      expect(component.PreviewProps, kind).toBeDefined();
      const email = await renderSubscriberEmail({
        kind,
        props: component.PreviewProps,
      } as SubscriberTemplate);
      expect(email.html).toContain(component.PreviewProps.postalAddress);
    }
  });
});
